"""The order saga as plain code: ORDER_SAGA's steps in a try, compensated by its finally."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from azure.durable_functions import Blueprint, DurableOrchestrationContext

from contracts.order import (
    ConfirmOrder,
    CreateOrder,
    OrderSagaInput,
    Reservation,
    ScheduleShipment,
    charge_input,
)
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


def order_steps(saga: SagaCode, order: OrderSagaInput) -> Generator[Any, Any, None]:
    """Each step is one local transaction; each one scheduled registers its compensation, and
    the finally undoes them, newest first, when the order did not get past the shipment."""
    try:
        yield from saga.step(
            CREATE_ORDER,
            CreateOrder(
                order_id=order.order_id,
                customer_id=order.customer_id,
                items=order.items,
                shipping_address=order.shipping_address,
            ),
        )
        lines = yield from saga.step(RESERVE)  # one reservation per order line, in parallel
        total_cents = sum(Reservation.model_validate(line).amount_cents for line in lines)
        yield from saga.approval(
            APPROVAL,
            required=total_cents >= order.approval.threshold_cents,
            timeout_seconds=float(order.approval.timeout_seconds),
        )
        yield from saga.step(CHARGE_PAYMENT, charge_input(order, total_cents))
        # The pivot: once the shipment is scheduled, nothing before it is undone any more.
        yield from saga.step(
            SCHEDULE_SHIPMENT,
            ScheduleShipment(order_id=order.order_id, country=order.shipping_address.country),
        )
        yield from saga.step(
            CONFIRM_ORDER, ConfirmOrder(order_id=order.order_id, total_cents=total_cents)
        )
    finally:
        yield from saga.compensations()


bp = Blueprint()


@bp.orchestration_trigger(context_name="context")
def order_saga_imperative(context: DurableOrchestrationContext):
    """One order, start to finish, as the code above says."""
    order = OrderSagaInput.model_validate(context.get_input())
    return (yield from run_saga_code(context, ORDER_SAGA, order, order_steps))
