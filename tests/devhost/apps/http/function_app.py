"""Fixture app for devhost's HTTP layer: starters, durable client calls and plain HTTP functions."""

import json
from datetime import datetime

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def json_response(value: object, status_code: int = 200) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(value), status_code=status_code, mimetype="application/json"
    )


def client_error(error: Exception) -> func.HttpResponse:
    """What the SDK client raised, so tests can assert on it."""
    return json_response({"error": str(error)}, 400)


# --------------------------------------------------------------------------- orchestrations


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}"


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    results = []
    for city in context.get_input() or ["Tokyo", "Seattle"]:
        results.append((yield context.call_activity(say_hello, city)))
    return results


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting"})
    answer = yield context.wait_for_external_event("Approval")
    return {"answer": answer, "type": type(answer).__name__}


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    yield context.call_activity(say_hello, "before failing")
    raise ValueError("the order was rejected")


# --------------------------------------------------------------------------- starters


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["functionName"], req.params.get("id"), req.get_json() if body else None
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="orchestrators/{functionName}/wait", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_and_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["functionName"], None, req.get_json() if body else None
    )
    return await client.wait_for_completion_or_create_check_status_response(
        req,
        instance_id,
        timeout_in_milliseconds=int(req.params.get("timeout", "10000")),
        retry_interval_in_milliseconds=100,
    )


@app.route(route="start-error/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_error(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    try:
        await client.start_new(req.route_params["functionName"], req.params.get("id"))
    except Exception as error:
        return client_error(error)
    return json_response({"error": None})


# --------------------------------------------------------------------------- client calls


@app.route(route="status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_status(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    status = await client.get_status(
        req.route_params["instanceId"], show_history=True, show_history_output=True
    )
    if not status:
        return json_response({"found": False})
    return json_response(
        {
            "found": True,
            "name": status.name,
            "instanceId": status.instance_id,
            "runtimeStatus": status.runtime_status.name,
            "input": status.input_,
            "output": status.output,
            "customStatus": status.custom_status,
            "createdTime": status.created_time.isoformat(),
            "historyEvents": getattr(status, "historyEvents", None),
        }
    )


@app.route(route="query", methods=["GET"])
@app.durable_client_input(client_name="client")
async def query_instances(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    statuses = [
        df.OrchestrationRuntimeStatus[name]
        for name in req.params.get("status", "").split(",")
        if name
    ]
    created_from = req.params.get("from")
    found = await client.get_status_by(
        created_time_from=datetime.fromisoformat(created_from) if created_from else None,
        runtime_status=statuses or None,
        instance_id_prefix=req.params.get("prefix"),
    )
    return json_response(sorted(status.instance_id for status in found))


@app.route(route="instances/{instanceId}/events/{eventName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def raise_event(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    try:
        await client.raise_event(
            req.route_params["instanceId"], req.route_params["eventName"], req.get_json()
        )
    except Exception as error:
        return client_error(error)
    return func.HttpResponse(status_code=202)


@app.route(route="instances/{instanceId}/{operation:regex(^(terminate|suspend|resume)$)}")
@app.durable_client_input(client_name="client")
async def manage(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    operations = {"terminate": client.terminate, "suspend": client.suspend, "resume": client.resume}
    try:
        await operations[req.route_params["operation"]](
            req.route_params["instanceId"], req.params.get("reason", "")
        )
    except Exception as error:
        return client_error(error)
    return func.HttpResponse(status_code=202)


@app.route(route="instances/{instanceId}", methods=["DELETE"])
@app.durable_client_input(client_name="client")
async def purge(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    try:
        result = await client.purge_instance_history(req.route_params["instanceId"])
    except Exception as error:
        return client_error(error)
    return json_response({"instancesDeleted": result.instances_deleted})


# --------------------------------------------------------------------------- plain HTTP


@app.route(route="items/{id:int}", methods=["GET"])
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return json_response({"by": "id", "id": req.route_params["id"]})


@app.route(route="items/{name:alpha}", methods=["GET", "PUT"])
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return json_response({"by": "name", "name": req.route_params["name"], "method": req.method})


@app.route(route="items/new", methods=["GET"])
def new_item(req: func.HttpRequest) -> func.HttpResponse:
    return json_response({"by": "literal"})


@app.route(route="files/{*path}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return json_response({"path": req.route_params.get("path")})


@app.route(route="echo", methods=["POST"])
def echo_sync(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        req.get_body(),
        status_code=201,
        headers={
            "X-Echo-Query": req.params.get("q", ""),
            "X-Echo-Header": req.headers.get("x-in", ""),
        },
        mimetype=req.headers.get("content-type", "application/octet-stream"),
    )


@app.route(route="async/hello")
async def hello_async(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hello {req.params.get('name', 'world')}")


@app.route(route="text")
def text(req: func.HttpRequest) -> str:
    return "plain text"


@app.route(route="nothing")
def nothing(req: func.HttpRequest):
    return None


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret detail that must not reach the caller")


@app.route(route="context")
def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return json_response({"function": context.function_name, "id": context.invocation_id})
