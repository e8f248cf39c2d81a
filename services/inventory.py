"""Inventory service data: table `Inventory`, one partition per SKU with one `stock` row."""

from __future__ import annotations

from typing import Any

from services.tables import declared
from shared.idempotency import UnitOfWork
from shared.ledgers import ledger_for
from shared.numbers import whole_number

INVENTORY_TABLE = declared("Inventory")
STOCK_ROW = "stock"


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

    # Through the ledger for its ETag retries against concurrent reservations, but without a
    # record: setting a level twice does no harm, and a record per PUT would pile up forever.
    view: dict[str, Any] = ledger_for(INVENTORY_TABLE).write(sku, transaction, reads=[STOCK_ROW])
    return view


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
