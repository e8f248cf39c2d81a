"""The order saga as plain code: ORDER_SAGA's steps in a try, compensated by its finally."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from azure.durable_functions import Blueprint, DurableOrchestrationContext

from orchestrators.order_saga import (
    APPROVAL,
    CHARGE_PAYMENT,
    CONFIRM_ORDER,
    CREATE_ORDER,
    ORDER_SAGA,
    RESERVE,
    SCHEDULE_SHIPMENT,
)
from shared.saga import SagaCode, run_saga_code


def order_steps(saga: SagaCode, order: dict[str, Any]) -> Generator[Any, Any, None]:
    """Each step is one local transaction; each one scheduled registers its compensation, and
    the finally undoes them, newest first, when the order did not get past the shipment."""
    order_id = order["orderId"]
    try:
        yield from saga.step(
            CREATE_ORDER,
            {key: order[key] for key in ("orderId", "customerId", "items", "shippingAddress")},
        )
        lines = yield from saga.step(RESERVE)  # one reservation per order line, in parallel
        total_cents = sum(int(line["amountCents"]) for line in lines)
        yield from saga.approval(
            APPROVAL,
            required=total_cents >= int(order["approval"]["thresholdCents"]),
            timeout_seconds=float(order["approval"]["timeoutSeconds"]),
        )
        yield from saga.step(
            CHARGE_PAYMENT,
            {"orderId": order_id, "customerId": order["customerId"], "amountCents": total_cents},
        )
        # The pivot: once the shipment is scheduled, nothing before it is undone any more.
        yield from saga.step(
            SCHEDULE_SHIPMENT,
            {"orderId": order_id, "country": order["shippingAddress"]["country"]},
        )
        yield from saga.step(CONFIRM_ORDER, {"orderId": order_id, "totalCents": total_cents})
    finally:
        yield from saga.compensations()


bp = Blueprint()


@bp.orchestration_trigger(context_name="context")
def order_saga_imperative(context: DurableOrchestrationContext):
    """One order, start to finish, as the code above says."""
    return (yield from run_saga_code(context, ORDER_SAGA, context.get_input(), order_steps))
