"""Inventory service: reserve and release stock, one partition per SKU."""

from __future__ import annotations

from typing import Any

from azure.durable_functions import Blueprint

from contracts.order import Released, Reservation, ReserveLine
from services.inventory import INVENTORY_TABLE, STOCK_ROW
from shared.idempotency import UnitOfWork
from shared.local_steps import local_action, local_compensation
from shared.saga.outcome import failure, ok

# The durable Blueprint, as func.Blueprint lacks activity_trigger; imported by name because mypy
# rejects `import azure.durable_functions as df` where no typed azure package is imported too.
bp = Blueprint()


def _sku(line: ReserveLine) -> str:
    return line.sku


@bp.activity_trigger(input_name="call")
@local_action(ReserveLine, table=INVENTORY_TABLE, partition=_sku, reads=[STOCK_ROW])
def reserve_inventory(line: ReserveLine, uow: UnitOfWork) -> dict[str, Any]:
    """Move one order line's quantity from available to reserved; UnknownSku or OutOfStock."""
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
        Reservation(
            sku=line.sku,
            quantity=line.quantity,
            unit_price_cents=price,
            amount_cents=price * line.quantity,
        )
    )


@bp.activity_trigger(input_name="call")
@local_compensation(
    ReserveLine, Reservation, table=INVENTORY_TABLE, partition=_sku, reads=[STOCK_ROW]
)
def release_inventory(
    line: ReserveLine, uow: UnitOfWork, reservation: Reservation | None
) -> dict[str, Any]:
    """Compensates `reserve_inventory`: give back exactly what it reserved; a reservation that
    never happened is tombstoned, so a late one does nothing."""
    if reservation is None:
        return ok(Released(sku=line.sku, released_quantity=0))
    stock = uow.get(STOCK_ROW)
    if stock is None:  # this app never deletes stock rows; an operator must look
        raise ValueError(f"SKU {line.sku!r} has a reservation to release but no stock row")
    stock["available"] += reservation.quantity
    stock["reserved"] -= reservation.quantity
    uow.update(stock)
    return ok(Released(sku=line.sku, released_quantity=reservation.quantity))
