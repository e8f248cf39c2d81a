"""Fixture app for the durable HTTP API fidelity tests: orchestrations in every status, a task
that fails until told otherwise, and HTTP functions that call the SDK client."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Whether `flaky` fails; the tests switch it through POST /api/flaky/{on|off}.
FLAKY = {"failing": True}


def json_response(value: object, status_code: int = 200) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(value), status_code=status_code, mimetype="application/json"
    )


@app.activity_trigger(input_name="value")
def flaky(value: str) -> str:
    if FLAKY["failing"]:
        raise RuntimeError(f"flaky failed on {value}")
    return f"done {value}"


@app.orchestration_trigger(context_name="context")
def waiting(context: df.DurableOrchestrationContext):
    answer = yield context.wait_for_external_event("Go")
    return answer


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    value = context.get_input()
    return {"value": value, "type": type(value).__name__}


@app.orchestration_trigger(context_name="context")
def ignores_input(context: df.DurableOrchestrationContext):
    return "ran"
    yield  # an orchestrator must be a generator


@app.orchestration_trigger(context_name="context")
def calls_flaky(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("flaky", "one")
    return first


@app.orchestration_trigger(context_name="context")
def parent_of_flaky(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator(
        "calls_flaky", None, f"{context.instance_id}-child"
    )
    return {"child": result}


@app.orchestration_trigger(context_name="context")
def raises(context: df.DurableOrchestrationContext):
    if not FLAKY["failing"]:
        return "fixed"
    raise ValueError("broken orchestrator")
    yield  # an orchestrator must be a generator


@app.route(route="flaky/{mode}", methods=["POST"])
def set_flaky(req: func.HttpRequest) -> func.HttpResponse:
    FLAKY["failing"] = req.route_params["mode"] == "on"
    return json_response(FLAKY)


@app.route(route="sdk/start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def sdk_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """start_new with the request's JSON body as the input; reports what the client raised."""
    body = req.get_body()
    try:
        instance_id = await client.start_new(
            req.route_params["name"], req.params.get("id"), json.loads(body) if body else None
        )
    except Exception as error:
        return json_response({"raised": str(error)}, 500)
    return json_response({"id": instance_id})


@app.route(route="sdk/status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def sdk_status(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    status = await client.get_status(req.route_params["instanceId"])
    return json_response({"found": bool(status), "input": status.input_ if status else None})
