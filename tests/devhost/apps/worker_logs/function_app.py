"""Fixture app: an orchestrator and activities that log, for devhost's worker processes."""

import logging

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
log = logging.getLogger("shop.packing")


@app.route(route="start", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return func.HttpResponse(
        await client.start_new("pack_order", None, "parcel-7"), status_code=202
    )


@app.orchestration_trigger(context_name="context")
def pack_order(context: df.DurableOrchestrationContext):
    if not context.is_replaying:
        logging.getLogger("shop.orders").info("packing order %s", context.get_input())
    return (yield context.call_activity("pack", context.get_input()))


@app.activity_trigger(input_name="parcel")
def pack(parcel: str) -> str:
    log.info("packed %s", parcel)
    # As an Azure SDK's HTTP logging policy logs each request: the worker does not quiet it.
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").info("Request URL: x")
    log.debug("box size for %s: medium", parcel)
    try:
        raise ValueError(f"{parcel} is fragile")
    except ValueError:
        log.exception("handled with care")
    return parcel
