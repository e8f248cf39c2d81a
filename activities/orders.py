"""Orders service: create, cancel and confirm orders, one partition per order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from azure.durable_functions import Blueprint

from contracts.order import ConfirmOrder, CreateOrder, OrderCreated, OrderStatusChanged
from services.orders import CANCELLED, CONFIRMED, ORDER_ROW, ORDERS_TABLE, PENDING
from shared.idempotency import UnitOfWork
from shared.local_steps import local_action, local_compensation
from shared.saga.outcome import failure, ok

# The durable Blueprint, as func.Blueprint lacks activity_trigger; imported by name because mypy
# rejects `import azure.durable_functions as df` where no typed azure package is imported too.
bp = Blueprint()


def _order_id(step_input: CreateOrder | ConfirmOrder) -> str:
    return step_input.order_id


@bp.activity_trigger(input_name="call")
@local_action(
    CreateOrder, table=ORDERS_TABLE, partition=_order_id, reads=[ORDER_ROW], new_rows=True
)
def create_order(order: CreateOrder, uow: UnitOfWork) -> dict[str, Any]:
    """Create the order as Pending; OrderExists if another key already created this order id."""
    if uow.get(ORDER_ROW) is not None:
        return failure("OrderExists", f"order {order.order_id!r} already exists")
    now = datetime.now(UTC)
    wire = order.to_wire()
    uow.create(
        {
            "RowKey": ORDER_ROW,
            "status": PENDING,
            "customerId": order.customer_id,
            # Table properties are scalars: the order's structure is kept as JSON text.
            "items": json.dumps(wire["items"]),
            "shippingAddress": json.dumps(wire["shippingAddress"]),
            "createdAt": now,
            "updatedAt": now,
        }
    )
    return ok(OrderCreated(order_id=order.order_id, status=PENDING, created_at=now.isoformat()))


@bp.activity_trigger(input_name="call")
@local_compensation(
    CreateOrder, OrderCreated, table=ORDERS_TABLE, partition=_order_id, reads=[ORDER_ROW]
)
def cancel_order(
    order: CreateOrder, uow: UnitOfWork, created: OrderCreated | None
) -> dict[str, Any]:
    """Compensates `create_order`: a created order becomes Cancelled; one never created is
    tombstoned, so a late `create_order` does nothing."""
    if created is None:
        return ok(OrderStatusChanged(order_id=order.order_id, status="NotCreated"))
    _set_status(uow, order.order_id, CANCELLED)
    return ok(OrderStatusChanged(order_id=order.order_id, status=CANCELLED))


@bp.activity_trigger(input_name="call")
# Only the order's own saga writes its row, so when this process committed it last (create_order
# ran here) the step commits without reading it first: one round trip instead of two.
@local_action(ConfirmOrder, table=ORDERS_TABLE, partition=_order_id, reads=[ORDER_ROW], recall=True)
def confirm_order(confirm: ConfirmOrder, uow: UnitOfWork) -> dict[str, Any]:
    """Mark the order Confirmed with its total (a retriable step: it has no business failure)."""
    _set_status(uow, confirm.order_id, CONFIRMED, totalCents=confirm.total_cents)
    return ok(OrderStatusChanged(order_id=confirm.order_id, status=CONFIRMED))


def _set_status(uow: UnitOfWork, order_id: str, status: str, **changes: Any) -> None:
    order = uow.get(ORDER_ROW)
    # Both cannot happen in a well-formed saga: create_order committed first, and a cancelled
    # order is never confirmed. Raising makes the step fail visibly instead of guessing.
    if order is None:
        raise ValueError(f"order {order_id!r} does not exist")
    if order["status"] not in (PENDING, status):
        raise ValueError(f"order {order_id!r} is {order['status']}, so it cannot become {status}")
    uow.update({**order, **changes, "status": status, "updatedAt": datetime.now(UTC)})
