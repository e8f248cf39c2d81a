"""Mirrors Durable-Task-Scheduler samples/durable-functions/python/fan-out-fan-in: a FunctionApp
that registers a durable Blueprint (fan-out/fan-in orchestrator and its activity) and routes an
HTTP starter of its own that wraps the raw client binding in a DurableOrchestrationClient.

The sample stacks the Blueprint's client decorator over the app's route decorator. They belong
to different registries, so the client binding lands on the Blueprint's last function
(process_item) and the starter's `client` parameter has no binding: the Python worker refuses
the app. This file keeps that order on purpose."""

import logging

import azure.durable_functions as df
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def fan_out_fan_in_orchestration(context: df.DurableOrchestrationContext):
    items = [f"item-{n}" for n in range(5)]
    scores = yield context.task_all([context.call_activity("process_item", i) for i in items])
    return {"items_processed": len(scores), "total_score": sum(scores), "results": scores}


@bp.activity_trigger(input_name="item")
def process_item(item: str) -> int:
    logging.info("scoring %s", item)
    return 10 * len(item)


@bp.durable_client_input(client_name="client")
@app.route(route="StartFanOutFanIn", methods=["POST"])
async def start_fan_out_fan_in(req: func.HttpRequest, client) -> func.HttpResponse:
    durable_client = df.DurableOrchestrationClient(client)
    instance_id = await durable_client.start_new("fan_out_fan_in_orchestration")
    return durable_client.create_check_status_response(req, instance_id)


app.register_functions(bp)
