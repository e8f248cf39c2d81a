"""Orders service: create, cancel and confirm orders; table `Orders`, one partition per order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from azure.durable_functions import Blueprint

from shared.chaos import chaotic
from shared.idempotency import LedgerRecord, UnitOfWork
from shared.ledgers import applied_value, ledger_for, reply
from shared.models import ConfirmOrder, CreateOrder, StepCall
from shared.saga.activity import saga_activity
from shared.saga.outcome import failure, ok

ORDERS_TABLE = "Orders"
ORDER_ROW = "order"
PENDING, CANCELLED, CONFIRMED = "Pending", "Cancelled", "Confirmed"

# The durable Blueprint, as func.Blueprint lacks activity_trigger; imported by name because mypy
# rejects `import azure.durable_functions as df` where no typed azure package is imported too.
bp = Blueprint()


@bp.activity_trigger(input_name="call")
@saga_activity
@chaotic
def create_order(call: dict) -> dict[str, Any]:
    """Create the order as Pending; OrderExists if another key already created this order id."""
    step = StepCall.parse(call, CreateOrder)
    order = step.input

    def transaction(uow: UnitOfWork) -> dict[str, Any]:
        if uow.get(ORDER_ROW) is not None:
            return failure("OrderExists", f"order {order.order_id!r} already exists")
        now = datetime.now(UTC)
        uow.create(
            {
                "RowKey": ORDER_ROW,
                "status": PENDING,
                "customerId": order.customer_id,
                # Table properties are scalars: the order's structure is kept as JSON text.
                "items": json.dumps([line.to_json() for line in order.items]),
                "shippingAddress": json.dumps(dict(order.shipping_address)),
                "createdAt": now,
                "updatedAt": now,
            }
        )
        return ok({"orderId": order.order_id, "status": PENDING, "createdAt": now.isoformat()})

    record = ledger_for(ORDERS_TABLE).run_once(
        order.order_id,
        step.key,
        transaction,
        reads=[ORDER_ROW],
        request=order.to_json(),
        new_rows=True,
    )
    return reply(record)


@bp.activity_trigger(input_name="call")
@saga_activity
@chaotic
def cancel_order(call: dict) -> dict[str, Any]:
    """Compensates `create_order`: a created order becomes Cancelled; one never created is
    tombstoned, so a late `create_order` does nothing."""
    step = StepCall.parse(call, CreateOrder)
    order_id = step.input.order_id

    def undo(uow: UnitOfWork, action: LedgerRecord | None) -> dict[str, Any]:
        if applied_value(action) is None:
            return ok({"orderId": order_id, "status": "NotCreated"})
        _set_status(uow, order_id, CANCELLED)
        return ok({"orderId": order_id, "status": CANCELLED})

    record = ledger_for(ORDERS_TABLE).compensate(order_id, step.action_key, undo, reads=[ORDER_ROW])
    return record.result


@bp.activity_trigger(input_name="call")
@saga_activity
@chaotic
def confirm_order(call: dict) -> dict[str, Any]:
    """Mark the order Confirmed with its total (a retriable step: it has no business failure)."""
    step = StepCall.parse(call, ConfirmOrder)
    confirm = step.input

    def transaction(uow: UnitOfWork) -> dict[str, Any]:
        _set_status(uow, confirm.order_id, CONFIRMED, totalCents=confirm.total_cents)
        return ok({"orderId": confirm.order_id, "status": CONFIRMED})

    record = ledger_for(ORDERS_TABLE).run_once(
        confirm.order_id, step.key, transaction, reads=[ORDER_ROW], request=confirm.to_json()
    )
    return reply(record)


def _set_status(uow: UnitOfWork, order_id: str, status: str, **changes: Any) -> None:
    order = uow.get(ORDER_ROW)
    # Both cannot happen in a well-formed saga: create_order committed first, and a cancelled
    # order is never confirmed. Raising makes the step fail visibly instead of guessing.
    if order is None:
        raise ValueError(f"order {order_id!r} does not exist")
    if order["status"] not in (PENDING, status):
        raise ValueError(f"order {order_id!r} is {order['status']}, so it cannot become {status}")
    uow.update({**order, **changes, "status": status, "updatedAt": datetime.now(UTC)})
