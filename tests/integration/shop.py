"""The shop: the real app on devhost over a test world's storage, stocked."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.order_view import ORCHESTRATORS
from contracts.order import OrderSagaInput, order_saga_input
from devhost.clock import VirtualClock
from devhost.instance import COMPLETED
from devhost.testing import DevHost, when_custom_status
from orchestrators.order_saga import ORDER_SAGA
from services.inventory import get_stock
from services.orders import ORDERS_TABLE
from services.payments import get_account
from shared.ledgers import ledger_for
from shared.settings import get_settings
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]
PRICE = {"apple": 150, "pear": 200, "gold": 60_000}
STOCK = {"apple": 10, "pear": 5, "gold": 3}
BALANCE = {"alice": 10_000, "bob": 500, "rich": 1_000_000}


@contextlib.contextmanager
def open_shop(
    world: World,
    chaos_rate: float = 0.0,
    chaos_seed: int = 0,
    replay_check: bool = True,
    style: str = "declarative",
    clock: VirtualClock | None = None,
) -> Iterator[DevHost]:
    """The app on devhost over ``world``'s storage (in-memory twins or fresh tables in Azurite),
    stocked and with funded accounts; the chaos knob is set only after the stocking. ``style`` is
    the ORDER_SAGA_STYLE: which orchestrator `place` and the HTTP API start. Devhost runs the
    activities in threads of this process, so they run on the world's services."""
    for sku, available in STOCK.items():
        world.put_stock(sku, available, PRICE[sku])
    for customer, balance in BALANCE.items():
        world.put_account(customer, balance)
    world.configure(order_saga_style=style, chaos_fault_rate=chaos_rate, chaos_seed=chaos_seed)
    with DevHost(ROOT, replay_check=replay_check, clock=clock) as host:
        yield host


def order_input(
    order_id: str, customer: str, lines: dict[str, int], country: str = "NL"
) -> OrderSagaInput:
    """The saga input the HTTP starter would build for this order."""
    items = [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()]
    settings = get_settings()
    return order_saga_input(
        order_id,
        customer,
        items,
        {"country": country},
        settings.approval_threshold_cents,
        settings.approval_timeout_seconds,
    )


def order_steps(lines: dict[str, int]) -> list[str]:
    """The steps an order of these lines lists, in order, as the order saga defines them."""
    return [step.name for step in ORDER_SAGA.members(order_input("o-1", "c", lines))]


def place(
    host: DevHost,
    customer: str,
    lines: dict[str, int],
    country: str = "NL",
    order_id: str | None = None,
) -> str:
    """Start an order saga the way the HTTP starter does, in the configured style; the order id
    (a new one unless given) is the instance id."""
    order_id = order_id or f"order-{uuid.uuid4().hex[:10]}"
    saga_input = order_input(order_id, customer, lines, country).to_wire()
    orchestrator = ORCHESTRATORS[get_settings().order_saga_style]
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
