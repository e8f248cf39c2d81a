"""The operator pages (`GET /api/operator`, `GET /api/operator/orders/{orderId}`) and the
order timeline they draw (`GET /api/orders/{orderId}/timeline`); same auth level as the API."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.functions as func
from azure.durable_functions import Blueprint, DurableOrchestrationClient

from api.operator_history import read_history
from api.operator_pages import page
from api.operator_timeline import build_timeline
from api.order_ids import is_order_id
from api.order_view import load_order, order_view
from api.problems import guarded, json_response, not_found
from api.saga_state import read_saga
from shared.saga.public import FINISHED

bp = Blueprint()


@bp.route(route="operator", methods=[func.HttpMethod.GET])
@guarded
def operator_list_page(req: func.HttpRequest) -> func.HttpResponse:
    """The orders list; it calls `GET /api/orders`."""
    return _html("list")


@bp.route(route="operator/orders/{orderId}", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
@guarded
async def operator_order_page(
    req: func.HttpRequest, client: DurableOrchestrationClient
) -> func.HttpResponse:
    """One order, its timeline and its actions; 404 for an unknown order."""
    if await load_order(client, req.route_params.get("orderId", "")) is None:
        raise not_found("No order has this id.")
    return _html("order")


@bp.route(route="orders/{orderId}/timeline", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
@guarded
async def orders_timeline(
    req: func.HttpRequest, client: DurableOrchestrationClient
) -> func.HttpResponse:
    """The order's saga as bars on a time axis, from its orchestration history."""
    order_id = req.route_params.get("orderId", "")
    if not is_order_id(order_id):
        raise not_found("No order has this id.")
    status = await client.get_status(
        order_id, show_history=True, show_history_output=True, show_input=True
    )
    view = order_view(status)
    if view is None:
        raise not_found("No order has this id.")
    # The SDK keeps fields it does not know, such as the history, as attributes.
    events = getattr(status, "historyEvents", None) or []
    timeline = build_timeline(
        view,
        read_saga(status).record.get("steps"),
        read_history(events, order_id),
        now=datetime.now(UTC),
        finished=view.status in FINISHED,
    )
    return json_response(timeline.to_json())


def _html(name: str) -> func.HttpResponse:
    html, headers = page(name)
    return func.HttpResponse(
        html, headers=headers, mimetype="text/html", charset="utf-8", status_code=200
    )
