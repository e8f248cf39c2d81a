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
from shared.saga import (
    PIVOT,
    RETRIABLE,
    ApprovalGate,
    FanOut,
    RetryPolicy,
    SagaDefinition,
    Step,
    run_saga,
)
from shared.settings import Settings

# Steps before the pivot may give up (the saga then compensates); compensations, the pivot and
# the confirmation must get through, so they retry for longer before asking an operator.
MAY_GIVE_UP = RetryPolicy(
    max_attempts=5, first_interval_seconds=1, backoff_coefficient=2, max_interval_seconds=30
)
MUST_FINISH = RetryPolicy(
    max_attempts=12, first_interval_seconds=1, backoff_coefficient=2, max_interval_seconds=60
)
STEP_TIMEOUT_SECONDS = 120


def order_saga_input(
    order_id: str,
    customer_id: str,
    items: list[dict[str, Any]],
    shipping_address: Mapping[str, Any],
    settings: Settings,
) -> dict[str, Any]:
    """The saga's input. The approval settings travel in it, so a replay never sees a setting
    that changed after the order started."""
    return {
        "orderId": order_id,
        "customerId": customer_id,
        "items": [{"sku": item["sku"], "quantity": item["quantity"]} for item in items],
        "shippingAddress": dict(shipping_address),
        "approval": {
            "thresholdCents": settings.approval_threshold_cents,
            "timeoutSeconds": settings.approval_timeout_seconds,
        },
    }


def _order(order: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    return {key: order[key] for key in ("orderId", "customerId", "items", "shippingAddress")}


def _order_lines(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"orderId": order["orderId"], "sku": line["sku"], "quantity": line["quantity"]}
        for line in order["items"]
    ]


RESERVE = FanOut(
    Step(
        "reserve",
        reserve_inventory,
        release_inventory,
        retry=MAY_GIVE_UP,
        timeout_seconds=STEP_TIMEOUT_SECONDS,
        compensation_retry=MUST_FINISH,
    ),
    items=_order_lines,
)


def total_cents(results: Mapping[str, Any]) -> int:
    """The order total: what the reservations priced each line at."""
    return sum(int(line["amountCents"]) for line in RESERVE.values(results))


def priced_total(order: Mapping[str, Any], results: Mapping[str, Any]) -> int | None:
    """The order total once every line's reservation has priced it; None before."""
    values = RESERVE.values(results)
    amounts = [line.get("amountCents") if isinstance(line, dict) else None for line in values]
    if len(amounts) != len(order.get("items") or []):
        return None
    priced = [amount for amount in amounts if isinstance(amount, int)]
    return sum(priced) if len(priced) == len(amounts) else None


def _summary(order: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    return {"totalCents": priced_total(order, results)}


def _needs_approval(order: Mapping[str, Any], results: Mapping[str, Any]) -> bool:
    return total_cents(results) >= int(order["approval"]["thresholdCents"])


def _charge(order: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "orderId": order["orderId"],
        "customerId": order["customerId"],
        "amountCents": total_cents(results),
    }


def _shipment(order: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    return {"orderId": order["orderId"], "country": order["shippingAddress"]["country"]}


def _confirmation(order: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    return {"orderId": order["orderId"], "totalCents": total_cents(results)}


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
    timeout=lambda order: float(order["approval"]["timeoutSeconds"]),
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
    return (yield from run_saga(context, ORDER_SAGA, context.get_input()))
