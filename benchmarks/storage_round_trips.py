"""Counts Table storage requests per forward saga step, on the happy path and for duplicates.

    python benchmarks/storage_round_trips.py --orders 20

Runs real order sagas (the app on devhost, virtual time) against Azurite with every request the
services' Table clients send counted by the SDK's response hook. Targets (design §7): at most 2
requests per forward step on the happy path, and at most 2 for a duplicate delivery.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from azure.data.tables import TableClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.order import OrderSagaInput, order_saga_input  # noqa: E402
from devhost.azurite import ensure_azurite  # noqa: E402
from devhost.testing import DevHost  # noqa: E402
from orchestrators.order_saga import ORDER_SAGA  # noqa: E402
from services.inventory import put_stock  # noqa: E402
from services.payments import put_account  # noqa: E402
from services.tables import TABLES  # noqa: E402
from shared import services  # noqa: E402
from shared.idempotency import TableLedger  # noqa: E402
from shared.idempotency.row_memory import RowMemory  # noqa: E402
from shared.ledgers import ledger_for  # noqa: E402
from shared.saga import Step  # noqa: E402
from shared.services import Clock, Services  # noqa: E402
from shared.settings import get_settings  # noqa: E402


@contextmanager
def counted_tables(connection_string: str) -> Iterator[list[str]]:
    """Route every ledger through Table clients whose requests are recorded."""
    sent: list[str] = []
    prefix = get_settings().table_prefix
    clients: dict[str, TableClient] = {}
    memories: dict[str, RowMemory] = {}  # one per table and process, as TableStorage keeps

    class CountedStorage:
        def ledger(self, name: str, clock: Clock) -> TableLedger:
            if name not in clients:
                clients[name] = TableClient.from_connection_string(
                    connection_string,
                    prefix + name,
                    raw_response_hook=lambda response: sent.append(response.http_request.method),
                )
                memories[name] = RowMemory()
            return TableLedger(clients[name], clock=clock, memory=memories[name])

        def ping(self, timeout_seconds: float) -> None:
            return None

        def close(self) -> None:
            for client in clients.values():
                client.close()

    counted = Services(get_settings(), CountedStorage())
    with services.use(counted):
        yield sent
    counted.close()


def one_apple(order_id: str) -> OrderSagaInput:
    settings = get_settings()
    return order_saga_input(
        order_id,
        "alice",
        [{"sku": "apple", "quantity": 1}],
        {"country": "NL"},
        settings.approval_threshold_cents,
        settings.approval_timeout_seconds,
    )


def forward_steps() -> int:
    """The activity steps one order runs forward (the approval gate calls no activity)."""
    return sum(isinstance(step, Step) for step in ORDER_SAGA.members(one_apple("o")))


def run_orders(host: DevHost, count: int) -> None:
    for _ in range(count):
        order_id = f"bench-{uuid.uuid4().hex[:10]}"
        host.start("order_saga", one_apple(order_id).to_wire(), instance_id=order_id)
        if host.wait_for(order_id).runtime_status != "Completed":
            raise RuntimeError(f"{order_id}: {host.output(order_id)}")
        if host.output(order_id)["status"] != "Completed":
            raise RuntimeError(f"{order_id}: {host.output(order_id)}")
    host.wait_idle()


def measure(connection_string: str, orders: int) -> dict[str, Any]:
    os.environ["SAGA_STORAGE_CONNECTION"] = connection_string
    os.environ["SAGA_TABLE_PREFIX"] = f"rt{uuid.uuid4().hex[:10]}"
    services.reset()
    put_stock("apple", orders * 2, 100)
    put_account("alice", orders * 1000)
    for table in TABLES:
        ledger_for(table)  # creates the table, so the counted clients only do the work
    with DevHost(ROOT) as host, counted_tables(connection_string) as sent:
        run_orders(host, orders)
        happy = len(sent)
        sent.clear()
        host.faults.duplicate_delivery("*", times=None)
        run_orders(host, orders)
        with_duplicates = len(sent)
    steps = orders * forward_steps()
    return {
        "orders": orders,
        "requests_per_forward_step": round(happy / steps, 2),
        "requests_per_duplicate_delivery": round((with_duplicates - happy) / steps, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    azurite = ensure_azurite()
    try:
        print(json.dumps(measure(azurite.connection_string, args.orders)))
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
