"""What a caller can do to a running order: cancel it, decide its approval, and (operators)
retry its compensation. Each raises an event on the order's saga."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import azure.functions as func
from azure.durable_functions import Blueprint, DurableOrchestrationClient

from api.models import ApprovalRequest, OrderStatus
from api.order_view import load_order
from api.parsing import read_model
from api.problems import ProblemType, accepted, guarded
from api.responses import OrderAccepted
from api.saga_calls import signal
from contracts.order import APPROVAL_EVENT
from shared.saga import CANCEL_EVENT, RETRY_EVENT
from shared.saga.public import UNFINISHED

bp = Blueprint()


@bp.route(route="orders/{orderId}/cancel", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
@guarded
async def orders_cancel(
    req: func.HttpRequest, client: DurableOrchestrationClient
) -> func.HttpResponse:
    """Ask the saga to cancel: before its pivot it compensates (Cancelled), after it the order
    completes; 409 once the order has finished."""
    return await _signal(client, req, UNFINISHED, CANCEL_EVENT, None, "cancelled")


@bp.route(route="orders/{orderId}/approval", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
@guarded
async def orders_approval(
    req: func.HttpRequest, client: DurableOrchestrationClient
) -> func.HttpResponse:
    """Approve or reject an order that awaits approval."""
    decision = read_model(req, ApprovalRequest)
    data: dict[str, Any] = {"approved": decision.approved}
    if decision.comment is not None:
        data["comment"] = decision.comment
    allowed = {OrderStatus.AWAITING_APPROVAL}
    return await _signal(client, req, allowed, APPROVAL_EVENT, data, "approved or rejected")


@bp.route(route="orders/{orderId}/retry-compensation", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
@guarded
async def orders_retry_compensation(
    req: func.HttpRequest, client: DurableOrchestrationClient
) -> func.HttpResponse:
    """Operator: retry the compensation that parked the order in NeedsAttention."""
    allowed = {OrderStatus.NEEDS_ATTENTION}
    return await _signal(client, req, allowed, RETRY_EVENT, None, "retried")


async def _signal(
    client: Any,
    req: func.HttpRequest,
    allowed: Container[OrderStatus],
    event: str,
    data: Any,
    verb: str,
) -> func.HttpResponse:
    order_id = req.route_params.get("orderId", "")
    view = await signal(
        client,
        order_id,
        lambda: load_order(client, order_id),
        allowed,
        event,
        data,
        what="order",
        verb=verb,
        conflict=ProblemType.STATE_CONFLICT,
    )
    body = OrderAccepted(order_id=view.order_id, status=view.status).to_json()
    return accepted(body, f"/api/orders/{view.order_id}")
