"""Frozen input models of the sample's activities, parsed strictly from the engine's JSON."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

from shared.errors import InvalidStepInput
from shared.idempotency import compensation_key

_COUNTRY = re.compile(r"[A-Z]{2}")


class InputModel(Protocol):
    """An activity input: `from_json` takes camelCase JSON (`orderId`) to snake_case attributes
    (`order_id`) and raises InvalidStepInput (a ValueError) naming the field for anything
    invalid: bad input is the orchestrator's bug, which no retry can fix (`saga_activity` makes it
    the step's InvalidStepInput failure). Money is whole cents, quantities whole numbers from 1."""

    @classmethod
    def from_json(cls, data: object) -> Self: ...


M = TypeVar("M", bound=InputModel)


@dataclass(frozen=True)
class StepCall(Generic[M]):
    """The engine's wrapper around a step input: `{"key": idempotency key, "input": ...}`."""

    key: str
    input: M

    @classmethod
    def parse(cls, call: object, model: type[M]) -> StepCall[M]:
        """Validate the wrapper and its input; InvalidStepInput if either is malformed."""
        # A compensation's call may also carry `actionKey`; it must agree with `key`.
        fields = _fields(call, "activity call", {"key", "input"}, optional=frozenset({"actionKey"}))
        step = cls(_text(fields, "key", "activity call"), model.from_json(fields["input"]))
        if "actionKey" in fields and fields["actionKey"] != step.action_key:
            raise InvalidStepInput(
                f"activity call: actionKey {fields['actionKey']!r} does not match key {step.key!r}"
            )
        return step

    @property
    def action_key(self) -> str:
        """For a compensation's call, the key of the action it undoes."""
        suffix = compensation_key("")
        if not self.key.endswith(suffix) or self.key == suffix:
            raise InvalidStepInput(
                f"key {self.key!r} is not a compensation key (ends with {suffix!r})"
            )
        return self.key.removesuffix(suffix)


@dataclass(frozen=True)
class OrderLine:
    """One line of an order: a SKU and how many of it."""

    sku: str
    quantity: int

    @classmethod
    def from_json(cls, data: object) -> Self:
        fields = _fields(data, "order line", {"sku", "quantity"})
        return cls(_text(fields, "sku", "order line"), _positive(fields, "quantity", "order line"))

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "quantity": self.quantity}


@dataclass(frozen=True)
class CreateOrder:
    """Input of `create_order` and its compensation `cancel_order`."""

    order_id: str
    customer_id: str
    items: tuple[OrderLine, ...]
    # Free-form apart from `country`; the HTTP API validates the rest.
    shipping_address: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: object) -> Self:
        what = "create_order input"
        fields = _fields(data, what, {"orderId", "customerId", "items", "shippingAddress"})
        items = fields["items"]
        if not isinstance(items, list) or not items:
            raise InvalidStepInput(f"{what}: items must be a non-empty list, got {items!r:.100}")
        address = fields["shippingAddress"]
        if not isinstance(address, dict):
            raise InvalidStepInput(
                f"{what}: shippingAddress must be an object, got {address!r:.100}"
            )
        _country(address.get("country"), f"{what}: shippingAddress.country")
        return cls(
            _text(fields, "orderId", what),
            _text(fields, "customerId", what),
            tuple(OrderLine.from_json(item) for item in items),
            dict(address),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "customerId": self.customer_id,
            "items": [line.to_json() for line in self.items],
            "shippingAddress": dict(self.shipping_address),
        }


@dataclass(frozen=True)
class ConfirmOrder:
    """Input of `confirm_order`: the order and its total, summed from the reservations."""

    order_id: str
    total_cents: int

    @classmethod
    def from_json(cls, data: object) -> Self:
        fields = _fields(data, "confirm_order input", {"orderId", "totalCents"})
        return cls(
            _text(fields, "orderId", "confirm_order input"),
            _cents(fields, "totalCents", "confirm_order input"),
        )

    def to_json(self) -> dict[str, Any]:
        return {"orderId": self.order_id, "totalCents": self.total_cents}


@dataclass(frozen=True)
class ReserveInventory:
    """Input of `reserve_inventory` and its compensation `release_inventory`: one order line."""

    order_id: str
    sku: str
    quantity: int

    @classmethod
    def from_json(cls, data: object) -> Self:
        what = "reserve_inventory input"
        fields = _fields(data, what, {"orderId", "sku", "quantity"})
        return cls(
            _text(fields, "orderId", what),
            _text(fields, "sku", what),
            _positive(fields, "quantity", what),
        )

    def to_json(self) -> dict[str, Any]:
        return {"orderId": self.order_id, "sku": self.sku, "quantity": self.quantity}


@dataclass(frozen=True)
class ChargePayment:
    """Input of `charge_payment` and its compensation `refund_payment`."""

    order_id: str
    customer_id: str
    amount_cents: int

    @classmethod
    def from_json(cls, data: object) -> Self:
        what = "charge_payment input"
        fields = _fields(data, what, {"orderId", "customerId", "amountCents"})
        return cls(
            _text(fields, "orderId", what),
            _text(fields, "customerId", what),
            _cents(fields, "amountCents", what),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "customerId": self.customer_id,
            "amountCents": self.amount_cents,
        }


@dataclass(frozen=True)
class ScheduleShipment:
    """Input of `schedule_shipment`: the order and the country it ships to."""

    order_id: str
    country: str

    @classmethod
    def from_json(cls, data: object) -> Self:
        what = "schedule_shipment input"
        fields = _fields(data, what, {"orderId", "country"})
        return cls(_text(fields, "orderId", what), _country(fields["country"], f"{what}: country"))

    def to_json(self) -> dict[str, Any]:
        return {"orderId": self.order_id, "country": self.country}


def _fields(
    data: object, what: str, names: set[str], *, optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidStepInput(f"{what} must be an object with {sorted(names)}, got {data!r:.100}")
    missing, unknown = names - data.keys(), data.keys() - names - optional
    problems = [
        f"{label} field(s) {sorted(odd)}"
        for label, odd in (("missing", missing), ("unknown", unknown))
        if odd
    ]
    if problems:
        raise InvalidStepInput(f"{what}: " + " and ".join(problems))
    return data


def _text(fields: dict[str, Any], name: str, what: str) -> str:
    value = fields[name]
    if not isinstance(value, str) or not value.strip():
        raise InvalidStepInput(f"{what}: {name} must be a non-empty string, got {value!r:.100}")
    return value


def _positive(fields: dict[str, Any], name: str, what: str) -> int:
    value = fields[name]
    # bool is an int subclass; True is not a quantity.
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidStepInput(
            f"{what}: {name} must be a whole number from 1 up, got {value!r:.100}"
        )
    return value


def _cents(fields: dict[str, Any], name: str, what: str) -> int:
    try:
        return whole_number(fields[name], f"{what}: {name}")
    except ValueError as error:
        raise InvalidStepInput(str(error)) from None


def whole_number(value: object, what: str) -> int:
    """`value` if it is an int from 0 up that Table storage can hold (64 bits), else ValueError."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise ValueError(f"{what} must be a whole number from 0 up, got {value!r:.100}")
    return value


def _country(value: object, what: str) -> str:
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value):
        raise InvalidStepInput(
            f"{what} must be a two-letter ISO 3166-1 code like 'NL', got {value!r}"
        )
    return value
