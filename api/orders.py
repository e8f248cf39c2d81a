"""`POST /api/orders` starts an order saga; `GET /api/orders[/{orderId}]` reads orders."""

from __future__ import annotations

from typing import Any

import azure.functions as func
from azure.durable_functions import Blueprint, DurableOrchestrationClient

from api.models import OrderRequest, OrderStatus
from api.order_ids import order_id_for, request_hash
from api.order_listing import list_orders
from api.order_view import ORCHESTRATORS, load_order, order_view, saga_input
from api.parsing import idempotency_key, json_body, list_query, parse_model
from api.problems import ProblemError, ProblemType, accepted, guarded, json_response, not_found
from api.responses import OrderAccepted, OrderList
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
    existing = await client.get_status(order_id, show_input=True)
    if not existing:
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
        try:
            await client.start_new(orchestrator, order_id, new_input.to_wire())
        except Exception:
            # host.json refuses to restart a running instance (NonRunningStates), so a
            # concurrent duplicate that started first makes this start fail: answer as for any
            # repeat. Still open: a start that lands after the first saga already FINISHED
            # replaces it; its steps reuse the same idempotency keys and so replay the stored
            # outcomes without new effects, but the order's history starts over. And once an
            # instance is purged, its key starts a new order.
            existing = await client.get_status(order_id, show_input=True)
            if not existing:
                raise
        else:
            return _accepted(order_id, OrderStatus.RUNNING)
    return _repeat(existing, fingerprint)


def _repeat(existing: Any, fingerprint: str) -> func.HttpResponse:
    view = order_view(existing)
    if view is None or saga_input(existing).get("requestHash") != fingerprint:
        raise ProblemError(
            ProblemType.IDEMPOTENCY_CONFLICT,
            "This Idempotency-Key was already used with a different request.",
        )
    return _accepted(view.order_id, view.status)


def _accepted(order_id: str, status: OrderStatus) -> func.HttpResponse:
    body = OrderAccepted(order_id=order_id, status=status).to_json()
    return accepted(body, order_id)


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
    return json_response(view.to_json())


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
