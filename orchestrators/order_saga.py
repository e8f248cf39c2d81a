"""The order saga: create the order, reserve stock, approve big orders, charge, ship, confirm.

Declared here as a SagaDefinition and run by ``run_saga``; order_saga_imperative.py drives the
same steps from plain code. The ORDER_SAGA_STYLE setting picks which one the API starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.durable_functions import Blueprint, DurableOrchestrationContext

from activities.inventory import release_inventory, reserve_inventory
from activities.orders import cancel_order, confirm_order, create_order
from activities.payments import charge_payment, refund_payment
from activities.shipping import schedule_shipment
from contracts.order import (
    APPROVAL_EVENT,
    RESERVE_STEP,
    ChargePayment,
    ConfirmOrder,
    CreateOrder,
    OrderSagaInput,
    ScheduleShipment,
    charge_input,
    confirmation_input,
    create_order_input,
    priced_total,
    reservations,
    reserve_inputs,
    shipment_input,
    total_cents,
)
from orchestrators.policies import MAY_GIVE_UP, MUST_FINISH, STEP_TIMEOUT_SECONDS
from shared.saga import (
    PIVOT,
    RETRIABLE,
    ApprovalGate,
    FanOut,
    SagaDefinition,
    Step,
    run_saga,
)

# Input builders: (the saga's input, the values of the steps so far) -> the step's input.


def _order(order: OrderSagaInput, results: Mapping[str, Any]) -> CreateOrder:
    return create_order_input(order)


def _total(results: Mapping[str, Any]) -> int:
    return total_cents(reservations(results))


def _charge(order: OrderSagaInput, results: Mapping[str, Any]) -> ChargePayment:
    return charge_input(order, _total(results))


def _shipment(order: OrderSagaInput, results: Mapping[str, Any]) -> ScheduleShipment:
    return shipment_input(order)


def _confirmation(order: OrderSagaInput, results: Mapping[str, Any]) -> ConfirmOrder:
    return confirmation_input(order, _total(results))


def _needs_approval(order: OrderSagaInput, results: Mapping[str, Any]) -> bool:
    return _total(results) >= order.approval.threshold_cents


def _summary(order: OrderSagaInput, results: Mapping[str, Any]) -> dict[str, Any]:
    return {"totalCents": priced_total(len(order.items), results)}


RESERVE = FanOut(
    Step(
        RESERVE_STEP,
        reserve_inventory,
        release_inventory,
        retry=MAY_GIVE_UP,
        timeout_seconds=STEP_TIMEOUT_SECONDS,
        compensation_retry=MUST_FINISH,
    ),
    items=reserve_inputs,
)
CREATE_ORDER = Step(
    "create_order",
    create_order,
    cancel_order,
    input=_order,
    retry=MAY_GIVE_UP,
    timeout_seconds=STEP_TIMEOUT_SECONDS,
    compensation_retry=MUST_FINISH,
)
APPROVAL = ApprovalGate(
    "approval",
    required=_needs_approval,
    timeout=lambda order: float(order.approval.timeout_seconds),
    event_name=APPROVAL_EVENT,
)
CHARGE_PAYMENT = Step(
    "charge_payment",
    charge_payment,
    refund_payment,
    input=_charge,
    retry=MAY_GIVE_UP,
    timeout_seconds=STEP_TIMEOUT_SECONDS,
    compensation_retry=MUST_FINISH,
)
SCHEDULE_SHIPMENT = Step(
    "schedule_shipment", schedule_shipment, kind=PIVOT, input=_shipment, retry=MUST_FINISH
)
CONFIRM_ORDER = Step(
    "confirm_order", confirm_order, kind=RETRIABLE, input=_confirmation, retry=MUST_FINISH
)

ORDER_SAGA = SagaDefinition(
    "order",
    [CREATE_ORDER, RESERVE, APPROVAL, CHARGE_PAYMENT, SCHEDULE_SHIPMENT, CONFIRM_ORDER],
    summary=_summary,
)

bp = Blueprint()


@bp.orchestration_trigger(context_name="context")
def order_saga(context: DurableOrchestrationContext):
    """One order, start to finish: the whole saga is the definition above."""
    order = OrderSagaInput.model_validate(context.get_input())
    return (yield from run_saga(context, ORDER_SAGA, order))
