"""Fixture app: a durable client input on every trigger kind devhost runs (timer, activity, HTTP),
as in the public samples."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

TIMER_INSTANCE = "started-by-timer"


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    instance_id = await client.start_new(req.route_params["name"])
    return client.create_check_status_response(req, instance_id)


# Runs once when devhost starts (the schedule itself is once a year).
@app.schedule(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
@app.durable_client_input(client_name="client")
async def timer_start(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await client.start_new("hello", TIMER_INSTANCE, "timer")


@app.orchestration_trigger(context_name="context")
def hello(context: df.DurableOrchestrationContext):
    return f"Hello {context.get_input()}"


@app.orchestration_trigger(context_name="context")
def ask_own_status(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("own_status", context.instance_id))


@app.activity_trigger(input_name="instance_id")
@app.durable_client_input(client_name="client")
async def own_status(instance_id: str, client: df.DurableOrchestrationClient) -> str:
    status = await client.get_status(instance_id)
    return str(status.runtime_status.value)


@app.orchestration_trigger(context_name="context")
def ask_status_url(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("status_url", context.instance_id))


@app.activity_trigger(input_name="instance_id")
@app.durable_client_input(client_name="client")
async def status_url(instance_id: str, client: df.DurableOrchestrationClient) -> str:
    """Where its client's management URLs point."""
    return client.create_http_management_payload(instance_id)["statusQueryGetUri"]
