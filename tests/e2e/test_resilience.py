"""Under chaos and a kill -9 of the host, every order ends terminal and the books are exact (each
test starts devhost processes of its own, so neither runs against the host E2E_BASE_URL names)."""

from __future__ import annotations

import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shared.settings import SAGA_STYLES
from tests.e2e.api import OrderApi
from tests.e2e.conftest import devhost_only, e2e_marks, start_app

pytestmark = [*e2e_marks(), pytest.mark.slow]

PRICES = {"apple": 150, "pear": 220, "plum": 90}
STOCK = 60
BALANCE = 20_000


def stock_up(api: OrderApi, tag: str) -> tuple[dict[str, str], list[str]]:
    skus = {name: f"{name}{tag}" for name in PRICES}
    for name, sku in skus.items():
        api.put_stock(sku, STOCK, PRICES[name])
    customers = [f"c{index}{tag}" for index in range(8)]
    for customer in customers:
        api.put_account(customer, BALANCE)
    return skus, customers


def random_orders(count: int, seed: int) -> list[tuple[int, dict[str, int], str]]:
    """(customer index, lines by product name, country): some fail for stock, money or country."""
    rng = random.Random(seed)
    return [
        (
            rng.randrange(8),
            {name: rng.randint(1, 6) for name in rng.sample(sorted(PRICES), rng.randint(1, 3))},
            rng.choice(["NL", "NL", "NL", "DE", "AQ"]),
        )
        for _ in range(count)
    ]


def place_all(api: OrderApi, skus: dict[str, str], customers: list[str], orders: list) -> list:
    def place(order: tuple[int, dict[str, int], str]) -> str:
        customer, lines, country = order
        return api.place(customers[customer], {skus[n]: q for n, q in lines.items()}, country)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(place, orders))


def assert_books_exact(
    api: OrderApi, skus: dict[str, str], customers: list[str], orders: list, finals: list[dict]
) -> None:
    """design.md §5: stock and balances moved exactly by the Completed orders, nothing else."""
    sold = dict.fromkeys(PRICES, 0)
    spent = [0] * len(customers)
    for (customer, lines, _), final in zip(orders, finals, strict=True):
        assert final["status"] in ("Completed", "Compensated"), final
        if final["status"] == "Completed":
            for name, quantity in lines.items():
                sold[name] += quantity
                spent[customer] += PRICES[name] * quantity
            assert final["totalCents"] == sum(PRICES[n] * q for n, q in lines.items())
    for name, sku in skus.items():
        assert api.stock(sku)["available"] == STOCK - sold[name], name
    for index, customer in enumerate(customers):
        assert api.balance(customer) == BALANCE - spent[index], customer


@devhost_only("fault injection (CHAOS_FAULT_RATE in a devhost process of the test's own)")
@pytest.mark.parametrize("style", SAGA_STYLES)
def test_chaos_at_30_percent_over_120_orders_keeps_the_books_exact(
    azurite: str, tmp_path: Path, style: str
) -> None:
    """Each activity call fails with probability 0.3, half of them after committing."""
    chaos = {"CHAOS_FAULT_RATE": "0.3", "CHAOS_SEED": "7", "ORDER_SAGA_STYLE": style}
    with start_app(azurite, tmp_path, **chaos) as process:
        api = OrderApi(process.base_url)
        skus, customers = stock_up(api, uuid.uuid4().hex[:6])
        orders = random_orders(120, seed=11)
        ids = place_all(api, skus, customers, orders)
        finals = [api.wait_for(order_id, timeout=180) for order_id in ids]
        assert_books_exact(api, skus, customers, orders, finals)
        assert {f["status"] for f in finals} == {"Completed", "Compensated"}


@devhost_only("kill -9 and restart of a devhost process of the test's own")
@pytest.mark.parametrize("style", SAGA_STYLES)
def test_kill_9_under_load_then_restart_loses_and_doubles_nothing(
    azurite: str, tmp_path: Path, style: str
) -> None:
    """The host is killed while orders are still arriving and sagas are in every stage.
    Clients retry their POSTs with the same Idempotency-Key until the restarted host answers;
    afterwards every order has finished exactly once and the books are exact."""
    process = start_app(azurite, tmp_path, ORDER_SAGA_STYLE=style)
    process.start()
    try:
        api = OrderApi(process.base_url)
        skus, customers = stock_up(api, uuid.uuid4().hex[:6])
        orders = random_orders(80, seed=23)

        def place(order: tuple[int, dict[str, int], str]) -> str:
            customer, lines, country = order
            return api.place(customers[customer], {skus[n]: q for n, q in lines.items()}, country)

        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(place, order) for order in orders]
            while sum(future.done() for future in futures) < 30:
                time.sleep(0.01)
            process.kill()
            process.start()
            ids = [future.result() for future in futures]
        assert len(set(ids)) == len(orders)
        finals = [api.wait_for(order_id, timeout=180) for order_id in ids]
        assert_books_exact(api, skus, customers, orders, finals)
    finally:
        process.stop()
