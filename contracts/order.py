"""The order saga's contract: its input, each step's input and result, its events and statuses.

The orchestrators build step inputs from these models, the activities parse them with the same
models, and the API reads the saga's input and results through them: a field renamed here is
renamed everywhere, and a field renamed on one side only fails a type check or the first test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from shared.saga.contract import Cents, Contract, PositiveNumber, Text
from shared.saga.public import PublicStatus

Country = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{2}$")]

APPROVAL_EVENT = "Approval"  # data: ApprovalDecision
# The fan-out of reservations: member i, named "reserve-{i}", reserves order line i.
RESERVE_STEP = "reserve"


# An order's status is any saga's status as clients see it (plus Failed).
OrderStatus = PublicStatus


class OrderLine(Contract):
    sku: Text
    quantity: PositiveNumber


class ShipTo(Contract):
    """Where the order goes; free-form apart from ``country`` (the HTTP API checks the rest)."""

    model_config = ConfigDict(extra="allow")

    country: Country


class ApprovalPolicy(Contract):
    """Travels in the saga's input, so a setting changed mid-saga never changes a replay."""

    threshold_cents: Cents
    timeout_seconds: PositiveNumber


class OrderSagaInput(Contract):
    order_id: Text
    customer_id: Text
    items: Annotated[tuple[OrderLine, ...], Field(min_length=1)]
    shipping_address: ShipTo
    approval: ApprovalPolicy
    # Set by the HTTP starter: a repeat with the same Idempotency-Key must carry the same body.
    request_hash: str | None = None


class ApprovalDecision(Contract):
    approved: bool
    comment: str | None = None


# ---------------------------------------------------------------------------- the steps


class CreateOrder(Contract):
    """Input of `create_order` and of its compensation `cancel_order`."""

    order_id: Text
    customer_id: Text
    items: Annotated[tuple[OrderLine, ...], Field(min_length=1)]
    shipping_address: ShipTo


class OrderCreated(Contract):
    order_id: Text
    status: str
    created_at: str


class ReserveLine(Contract):
    """Input of `reserve_inventory` and of its compensation `release_inventory`: one line."""

    order_id: Text
    sku: Text
    quantity: PositiveNumber


class Reservation(Contract):
    sku: Text
    quantity: PositiveNumber
    unit_price_cents: Cents
    amount_cents: Cents


class Released(Contract):
    sku: Text
    released_quantity: int


class ChargePayment(Contract):
    """Input of `charge_payment` and of its compensation `refund_payment`."""

    order_id: Text
    customer_id: Text
    amount_cents: Cents


class Charged(Contract):
    charged_cents: Cents


class Refunded(Contract):
    refunded_cents: Cents


class ScheduleShipment(Contract):
    order_id: Text
    country: Country


class ShipmentScheduled(Contract):
    shipment_id: Text


class ConfirmOrder(Contract):
    order_id: Text
    total_cents: Cents


class OrderStatusChanged(Contract):
    """The result of `confirm_order` and `cancel_order`."""

    order_id: Text
    status: str


# ------------------------------------------------------------------- built from the input


def order_saga_input(
    order_id: str,
    customer_id: str,
    items: Sequence[Mapping[str, Any]],
    shipping_address: Mapping[str, Any],
    threshold_cents: int,
    timeout_seconds: int,
    request_hash: str | None = None,
) -> OrderSagaInput:
    """The saga's input, with the approval settings in force when the order starts."""
    return OrderSagaInput(
        order_id=order_id,
        customer_id=customer_id,
        items=tuple(OrderLine(sku=item["sku"], quantity=item["quantity"]) for item in items),
        shipping_address=ShipTo.model_validate(dict(shipping_address)),
        approval=ApprovalPolicy(threshold_cents=threshold_cents, timeout_seconds=timeout_seconds),
        request_hash=request_hash,
    )


def create_order_input(order: OrderSagaInput) -> CreateOrder:
    return CreateOrder(
        order_id=order.order_id,
        customer_id=order.customer_id,
        items=order.items,
        shipping_address=order.shipping_address,
    )


def reserve_inputs(order: OrderSagaInput) -> list[ReserveLine]:
    """One reservation per order line, in line order."""
    return [
        ReserveLine(order_id=order.order_id, sku=line.sku, quantity=line.quantity)
        for line in order.items
    ]


def reservations(results: Mapping[str, Any]) -> list[Reservation]:
    """The reservations among a saga's step results, in line order."""
    prefix = f"{RESERVE_STEP}-"
    members = [
        (int(name.removeprefix(prefix)), value)
        for name, value in results.items()
        if name.startswith(prefix) and name.removeprefix(prefix).isdigit()
    ]
    return [Reservation.model_validate(value) for _, value in sorted(members)]


def total_cents(priced: Sequence[Reservation]) -> int:
    return sum(reservation.amount_cents for reservation in priced)


def priced_total(line_count: int, results: Mapping[str, Any]) -> int | None:
    """The order total once every one of its ``line_count`` lines is reserved; None before
    (or when the results are not readable as reservations)."""
    try:
        priced = reservations(results)
    except ValueError:
        return None
    return total_cents(priced) if len(priced) == line_count else None


def charge_input(order: OrderSagaInput, total: int) -> ChargePayment:
    return ChargePayment(order_id=order.order_id, customer_id=order.customer_id, amount_cents=total)


def shipment_input(order: OrderSagaInput) -> ScheduleShipment:
    return ScheduleShipment(order_id=order.order_id, country=order.shipping_address.country)


def confirmation_input(order: OrderSagaInput, total: int) -> ConfirmOrder:
    return ConfirmOrder(order_id=order.order_id, total_cents=total)
