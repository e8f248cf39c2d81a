"""An app for devhost's HTTP throttles: a starter, a ping, and an orchestration whose one
activity holds its worker for a while."""

import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
NAP_SECONDS = 2.5


@app.route(route="start", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("napping")
    return func.HttpResponse(instance_id, status_code=202)


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@app.orchestration_trigger(context_name="context")
def napping(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("nap", None))


@app.activity_trigger(input_name="ignored")
def nap(ignored: None) -> str:
    time.sleep(NAP_SECONDS)
    return "rested"
