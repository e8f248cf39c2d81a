"""Mirrors Durable-Task-Scheduler samples/durable-functions/python/hello-cities: one DFApp with a
chaining and a fan-out/fan-in orchestrator over one activity, each started by a POST route."""

import logging

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

FIVE_CITIES = ["Tokyo", "Seattle", "London", "Paris", "Berlin"]


@app.orchestration_trigger(context_name="context")
def chaining_orchestration(context: df.DurableOrchestrationContext):
    """Greets three cities one after the other."""
    greetings = []
    for city in FIVE_CITIES[:3]:
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in_orchestration(context: df.DurableOrchestrationContext):
    """Greets five cities at once and gathers the answers in order."""
    greetings = yield context.task_all(
        [context.call_activity("say_hello", city) for city in FIVE_CITIES]
    )
    return greetings


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    logging.info("greeting %s", city)
    return f"Hello {city}!"


@app.route(route="StartChaining", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_chaining(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new("chaining_orchestration")
    return client.create_check_status_response(req, instance_id)


@app.route(route="StartFanOutFanIn", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_fan_out_fan_in(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new("fan_out_fan_in_orchestration")
    return client.create_check_status_response(req, instance_id)
