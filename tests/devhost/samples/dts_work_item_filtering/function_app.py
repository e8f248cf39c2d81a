"""Mirrors Durable-Task-Scheduler samples/durable-functions/python/work-item-filtering (app A): a
FunctionApp with a durable Blueprint of orchestrators (one activity call, fan-out/fan-in, a
sub-orchestration, and one that calls a counter entity), the activity, the entity, and HTTP
starters of the app's own. devhost has no durable entities, so it must refuse this app."""

import logging

import azure.durable_functions as df
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def greeting_orchestration(context: df.DurableOrchestrationContext):
    greeting = yield context.call_activity("say_hello", "World")
    return greeting


@bp.orchestration_trigger(context_name="context")
def fan_out_orchestration(context: df.DurableOrchestrationContext):
    cities = ("Tokyo", "London", "Seattle")
    greetings = yield context.task_all([context.call_activity("say_hello", c) for c in cities])
    return greetings


@bp.orchestration_trigger(context_name="context")
def parent_orchestration(context: df.DurableOrchestrationContext):
    child = yield context.call_sub_orchestrator("greeting_orchestration")
    return f"Parent received: {child}"


@bp.orchestration_trigger(context_name="context")
def counter_orchestration(context: df.DurableOrchestrationContext):
    counter = df.EntityId("counter_entity", "sample-counter")
    yield context.call_entity(counter, "add", 10)
    yield context.call_entity(counter, "add", 20)
    total = yield context.call_entity(counter, "get")
    return total


@bp.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    logging.info("greeting %s", name)
    return f"Hello, {name}!"


@bp.entity_trigger(context_name="context")
def counter_entity(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    elif context.operation_name == "reset":
        value = 0
    elif context.operation_name == "get":
        context.set_result(value)
    context.set_state(value)


async def _start(req: func.HttpRequest, client, name: str) -> func.HttpResponse:
    instance_id = await client.start_new(name)
    return client.create_check_status_response(req, instance_id)


@app.route(route="orchestrators/greeting", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_greeting(req: func.HttpRequest, client) -> func.HttpResponse:
    return await _start(req, client, "greeting_orchestration")


@app.route(route="orchestrators/fanout", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_fan_out(req: func.HttpRequest, client) -> func.HttpResponse:
    return await _start(req, client, "fan_out_orchestration")


@app.route(route="orchestrators/parent", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_parent(req: func.HttpRequest, client) -> func.HttpResponse:
    return await _start(req, client, "parent_orchestration")


@app.route(route="orchestrators/counter", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_counter(req: func.HttpRequest, client) -> func.HttpResponse:
    return await _start(req, client, "counter_orchestration")


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_any(req: func.HttpRequest, client) -> func.HttpResponse:
    return await _start(req, client, req.route_params.get("name"))


app.register_functions(bp)
