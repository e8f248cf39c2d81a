"""`POST /api/orders` starts an order saga; `GET /api/orders[/{orderId}]` reads orders."""

from __future__ import annotations

import azure.functions as func
from azure.durable_functions import Blueprint, DurableOrchestrationClient

from api.models import OrderRequest, OrderStatus
from api.order_ids import order_id_for
from api.order_listing import list_orders
from api.order_view import ORCHESTRATORS, load_order, order_view
from api.parsing import idempotency_key, json_body, list_query, parse_model
from api.polling import retry_after
from api.problems import accepted, guarded, json_response, not_found
from api.responses import OrderAccepted, OrderList
from api.saga_calls import key_reused, same_request, start_once
from api.saga_ids import request_hash
from api.saga_state import read_saga
from contracts.order import order_saga_input
from shared.settings import get_settings

bp = Blueprint()


@bp.route(route="orders", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
@guarded
async def orders_create(
    req: func.HttpRequest, client: DurableOrchestrationClient
) -> func.HttpResponse:
    """Start an order saga (202); a repeat with the same Idempotency-Key gets the same order."""
    key, key_errors = idempotency_key(req)
    order = parse_model(json_body(req), OrderRequest, key_errors)
    order_id = order_id_for(order.customer_id, key)
    fingerprint = request_hash(order)
    settings = get_settings()
    new_input = order_saga_input(
        order_id,
        order.customer_id,
        [line.model_dump() for line in order.items],
        order.shipping_address.model_dump(mode="json", by_alias=True, exclude_none=True),
        settings.approval_threshold_cents,
        settings.approval_timeout_seconds,
        request_hash=fingerprint,
    )
    orchestrator = ORCHESTRATORS[settings.order_saga_style]
    existing = await start_once(client, orchestrator, order_id, new_input.to_wire())
    if existing is None:
        return _accepted(order_id, OrderStatus.RUNNING)
    view = order_view(existing)
    if view is None or not same_request(read_saga(existing).input, fingerprint):
        raise key_reused()
    return _accepted(view.order_id, view.status)


def _accepted(order_id: str, status: OrderStatus) -> func.HttpResponse:
    body = OrderAccepted(order_id=order_id, status=status).to_json()
    return accepted(body, f"/api/orders/{order_id}")


@bp.route(route="orders/{orderId}", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
@guarded
async def orders_get(
    req: func.HttpRequest, client: DurableOrchestrationClient
) -> func.HttpResponse:
    """The order and its saga's progress."""
    order_id = req.route_params.get("orderId", "")
    view = await load_order(client, order_id)
    if view is None:
        raise not_found("No order has this id.")
    return json_response(view.to_json(), 200, **retry_after(view.status, view.created_at))


@bp.route(route="orders", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
@guarded
async def orders_list(
    req: func.HttpRequest, client: DurableOrchestrationClient
) -> func.HttpResponse:
    """Orders newest first, optionally of one status."""
    query = list_query(req)
    views = await list_orders(client, query.status, query.limit)
    return json_response(OrderList(orders=views).to_json())
