"""The order-saga test world: the real app on devhost with its tables in Azurite, stocked."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.order_view import ORCHESTRATORS
from contracts.order import order_saga_input
from devhost.instance import COMPLETED
from devhost.testing import DevHost, when_custom_status
from services.inventory import get_stock, put_stock
from services.orders import ORDERS_TABLE
from services.payments import get_account, put_account
from shared import storage
from shared.ledgers import ledger_for
from shared.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
PRICE = {"apple": 150, "pear": 200, "gold": 60_000}
STOCK = {"apple": 10, "pear": 5, "gold": 3}
BALANCE = {"alice": 10_000, "bob": 500, "rich": 1_000_000}


def reload_settings() -> None:
    get_settings.cache_clear()
    storage.reset_clients()


@contextlib.contextmanager
def open_shop(
    azurite: str,
    chaos_rate: float = 0.0,
    chaos_seed: int = 0,
    replay_check: bool = True,
    style: str = "declarative",
) -> Iterator[DevHost]:
    """The app on devhost, its tables fresh in Azurite, stocked and with funded accounts;
    the chaos knob is set only after the stocking. ``style`` is the ORDER_SAGA_STYLE: which
    orchestrator `place` and the HTTP API start."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ORDER_SAGA_STYLE", style)
        patch.setenv("SAGA_STORAGE_CONNECTION", azurite)
        patch.setenv("SAGA_TABLE_PREFIX", f"saga{uuid.uuid4().hex[:12]}")
        patch.delenv("CHAOS_FAULT_RATE", raising=False)
        reload_settings()
        for sku, available in STOCK.items():
            put_stock(sku, available, PRICE[sku])
        for customer, balance in BALANCE.items():
            put_account(customer, balance)
        patch.setenv("CHAOS_FAULT_RATE", str(chaos_rate))
        patch.setenv("CHAOS_SEED", str(chaos_seed))
        reload_settings()
        try:
            with DevHost(ROOT, replay_check=replay_check) as host:
                yield host
        finally:
            patch.delenv("CHAOS_FAULT_RATE")
            patch.delenv("ORDER_SAGA_STYLE")
            reload_settings()


def place(host: DevHost, customer: str, lines: dict[str, int], country: str = "NL") -> str:
    """Start an order saga the way the HTTP starter does, in the configured style; the order id
    is the instance id."""
    order_id = f"order-{uuid.uuid4().hex[:10]}"
    items = [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()]
    settings = get_settings()
    saga_input = order_saga_input(
        order_id,
        customer,
        items,
        {"country": country},
        settings.approval_threshold_cents,
        settings.approval_timeout_seconds,
    ).to_wire()
    orchestrator = ORCHESTRATORS[settings.order_saga_style]
    return host.start(orchestrator, saga_input, instance_id=order_id)


# A saga parked for an operator will not finish by itself: a test waiting for its end stops at
# once, with the step and the reason from the record, instead of timing out.
PARKED = when_custom_status("status", "NeedsAttention")


def result(host: DevHost, order_id: str, **wait: Any) -> dict[str, Any]:
    """The saga's summary once the orchestration has finished (WaitAbandoned at once if it
    parks in NeedsAttention)."""
    state = host.wait_for(order_id, give_up=PARKED, **wait)
    assert state.runtime_status == COMPLETED, host.output(order_id)
    return host.output(order_id)


def assert_books_balance(completed: list[tuple[str, dict[str, int]]]) -> None:
    """design.md's invariants: stock and balances move only for Completed orders."""
    for sku, initial in STOCK.items():
        sold = sum(lines.get(sku, 0) for _, lines in completed)
        assert get_stock(sku)["available"] == initial - sold, sku
    for customer, initial in BALANCE.items():
        spent = sum(
            sum(PRICE[sku] * qty for sku, qty in lines.items())
            for who, lines in completed
            if who == customer
        )
        assert get_account(customer)["balanceCents"] == initial - spent, customer


def order_row(order_id: str) -> dict[str, Any]:
    row = ledger_for(ORDERS_TABLE).get(order_id, "order")
    assert row is not None
    return dict(row)
