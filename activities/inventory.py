"""Inventory service: reserve and release stock; table `Inventory`, one partition per SKU."""

from __future__ import annotations

import uuid
from typing import Any

from azure.durable_functions import Blueprint

from shared.chaos import chaotic
from shared.idempotency import LedgerRecord, UnitOfWork
from shared.ledgers import applied_value, ledger_for, reply
from shared.models import ReserveInventory, StepCall, whole_number
from shared.saga.activity import saga_activity
from shared.saga.outcome import failure, ok

INVENTORY_TABLE = "Inventory"
STOCK_ROW = "stock"

# The durable Blueprint, as func.Blueprint lacks activity_trigger; imported by name because mypy
# rejects `import azure.durable_functions as df` where no typed azure package is imported too.
bp = Blueprint()


@bp.activity_trigger(input_name="call")
@saga_activity
@chaotic
def reserve_inventory(call: dict) -> dict[str, Any]:
    """Move one order line's quantity from available to reserved; UnknownSku or OutOfStock."""
    step = StepCall.parse(call, ReserveInventory)
    line = step.input

    def transaction(uow: UnitOfWork) -> dict[str, Any]:
        stock = uow.get(STOCK_ROW)
        if stock is None:
            return failure("UnknownSku", f"SKU {line.sku!r} is not stocked")
        if line.quantity > stock["available"]:
            return failure(
                "OutOfStock",
                f"{line.quantity} of SKU {line.sku!r} wanted, {stock['available']} available",
            )
        stock["available"] -= line.quantity
        stock["reserved"] += line.quantity
        uow.update(stock)
        price = stock["unitPriceCents"]
        return ok(
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "unitPriceCents": price,
                "amountCents": price * line.quantity,
            }
        )

    record = ledger_for(INVENTORY_TABLE).run_once(
        line.sku, step.key, transaction, reads=[STOCK_ROW], request=line.to_json()
    )
    return reply(record)


@bp.activity_trigger(input_name="call")
@saga_activity
@chaotic
def release_inventory(call: dict) -> dict[str, Any]:
    """Compensates `reserve_inventory`: give back exactly what it reserved; tombstone a
    reservation that never happened, so a late one does nothing."""
    step = StepCall.parse(call, ReserveInventory)
    sku = step.input.sku

    def undo(uow: UnitOfWork, action: LedgerRecord | None) -> dict[str, Any]:
        reservation = applied_value(action)
        if reservation is None:
            return ok({"sku": sku, "releasedQuantity": 0})
        stock = uow.get(STOCK_ROW)
        if stock is None:  # this app never deletes stock rows; an operator must look
            raise ValueError(f"SKU {sku!r} has a reservation to release but no stock row")
        stock["available"] += reservation["quantity"]
        stock["reserved"] -= reservation["quantity"]
        uow.update(stock)
        return ok({"sku": sku, "releasedQuantity": reservation["quantity"]})

    record = ledger_for(INVENTORY_TABLE).compensate(sku, step.action_key, undo, reads=[STOCK_ROW])
    return record.result


def put_stock(sku: str, available: int, unit_price_cents: int) -> dict[str, Any]:
    """Set a SKU's available quantity and unit price (reservations are kept); the stock view."""
    whole_number(available, "available")
    whole_number(unit_price_cents, "unit_price_cents")

    def transaction(uow: UnitOfWork) -> dict[str, Any]:
        stock = uow.get(STOCK_ROW)
        row = {
            "RowKey": STOCK_ROW,
            "available": available,
            "reserved": stock["reserved"] if stock else 0,
            "unitPriceCents": unit_price_cents,
        }
        if stock is None:
            uow.create(row)
        else:
            uow.update(row)
        return _view(sku, row)

    # Through the ledger for its ETag retries against concurrent reservations; each PUT is a
    # new request, so it gets a fresh key (its record is purged like any other).
    key = f"put-stock:{uuid.uuid4().hex}"
    record = ledger_for(INVENTORY_TABLE).run_once(sku, key, transaction, reads=[STOCK_ROW])
    return record.result


def get_stock(sku: str) -> dict[str, Any] | None:
    """`{"sku", "available", "reserved", "unitPriceCents"}`, or None for an unknown SKU."""
    row = ledger_for(INVENTORY_TABLE).get(sku, STOCK_ROW)
    return _view(sku, row) if row else None


def _view(sku: str, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": sku,
        "available": row["available"],
        "reserved": row["reserved"],
        "unitPriceCents": row["unitPriceCents"],
    }
