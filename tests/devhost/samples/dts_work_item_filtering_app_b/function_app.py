"""Mirrors Durable-Task-Scheduler samples/durable-functions/python/work-item-filtering-app-b: the
second app of the work-item-filtering pair, with its own orchestrator and activity in a durable
Blueprint and HTTP starters on the FunctionApp. It has no extension bundle (extensions.csproj)."""

import logging

import azure.durable_functions as df
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def orders_orchestration(context: df.DurableOrchestrationContext):
    order_id = context.get_input() or f"order-{context.new_guid()}"
    shipped = yield context.call_activity("ship_order", order_id)
    return shipped


@bp.activity_trigger(input_name="order_id")
def ship_order(order_id: str) -> str:
    logging.info("shipping %s", order_id)
    return f"Shipped {order_id} from App B"


@app.route(route="orchestrators/orders", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_orders(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new("orders_orchestration", client_input="order-42")
    return client.create_check_status_response(req, instance_id)


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_any(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params.get("name"))
    return client.create_check_status_response(req, instance_id)


app.register_functions(bp)
