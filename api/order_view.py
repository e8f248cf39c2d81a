"""An order as the API shows it: its saga's state (api/saga_state.py) plus the order's fields."""

from __future__ import annotations

from typing import Any

from api.order_ids import is_order_id
from api.responses import OrderView
from api.saga_state import read_saga
from contracts.order import priced_total

# The orchestrator of each ORDER_SAGA_STYLE: new orders start the configured one, and an order
# keeps running (and is shown) under the one it started with.
ORCHESTRATORS = {"declarative": "order_saga", "imperative": "order_saga_imperative"}
_ORDER_ORCHESTRATORS = frozenset(ORCHESTRATORS.values())


async def load_order(client: Any, order_id: str) -> OrderView | None:
    """The order with this id, or None; ids this API never hands out are not looked up."""
    if not is_order_id(order_id):
        return None
    return order_view(await client.get_status(order_id, show_input=True))


def order_view(status: Any) -> OrderView | None:
    """The order, or None when the status is not an order saga's (or no instance at all)."""
    if not status or str(status.name or "").lower() not in _ORDER_ORCHESTRATORS:
        return None
    saga = read_saga(status)
    order = saga.input
    if not isinstance(order.get("customerId"), str):
        return None
    return OrderView(
        order_id=saga.instance_id,
        status=saga.status,
        customer_id=order["customerId"],
        items=[_pick(line, "sku", "quantity") for line in order.get("items") or []],
        total_cents=_total_cents(saga.summary, saga.output, order),
        steps=saga.steps,
        failure=saga.failure,
        attention=saga.attention,
        created_at=saga.created_at,
        updated_at=saga.updated_at,
    )


def _pick(entry: dict[str, Any], *names: str) -> Any:
    return {name: entry.get(name) for name in names}


def _total_cents(summary: Any, output: Any, order: dict[str, Any]) -> int | None:
    """Known once every line is priced by its reservation: the saga's summary says so as soon
    as the reservations succeed (sagas started before it had one: from their final results)."""
    if isinstance(summary, dict) and "totalCents" in summary:
        total = summary["totalCents"]
        return total if isinstance(total, int) else None
    results = output.get("results") if isinstance(output, dict) else None
    if not isinstance(results, dict):
        return None
    return priced_total(len(order.get("items") or []), results)
