"""The durable half of the blueprint sample: a df.Blueprint with an HTTP starter, a chaining
orchestrator and its activity, registered by function_app.py."""

import logging

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="startOrchestrator")
@bp.durable_client_input(client_name="client")
async def start_orchestrator(req: func.HttpRequest, client):
    instance_id = await client.start_new("my_orchestrator")
    logging.info("started %s", instance_id)
    return client.create_check_status_response(req, instance_id)


@bp.orchestration_trigger(context_name="context")
def my_orchestrator(context: df.DurableOrchestrationContext):
    greetings = []
    for city in ("Tokyo", "Seattle", "London"):
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@bp.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"
