"""Fixture app: an activity, an HTTP function and a timer function that fail."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def call_failing(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("failing_activity", "x"))


@app.activity_trigger(input_name="value")
def failing_activity(value: str) -> str:
    raise LookupError("the warehouse is closed")


@app.route(route="failing")
def failing_http(req: func.HttpRequest) -> func.HttpResponse:
    raise PermissionError("the vault is locked")


@app.schedule(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
def failing_timer(timer: func.TimerRequest) -> None:
    raise TimeoutError("the mainframe did not answer")
