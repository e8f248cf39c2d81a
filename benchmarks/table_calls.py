"""CPU of one Table call in the app's process: over the SDK's transport, over LoopbackTransport,
and as the app's clients for local storage make it (LoopbackTransport and the short pipeline).

    python benchmarks/table_calls.py --calls 400

Starts Azurite if none runs. Measures, per call, the CPU this process spends (not the server's)
on the calls an activity makes: a point read, a query for two rows of one partition (the
ledger's read), and a two-operation transaction (the ledger's commit, through the lean codec).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.azurite import ensure_azurite  # noqa: E402
from shared.loopback_transport import LoopbackTransport  # noqa: E402
from shared.storage import client_options  # noqa: E402
from shared.table_batch import LeanBatchTableClient  # noqa: E402


def cpu_ms_per_call(call: Callable[[], Any], calls: int) -> float:
    for _ in range(20):  # connections open, caches warm
        call()
    began = time.process_time()
    for _ in range(calls):
        call()
    return round(1000 * (time.process_time() - began) / calls, 3)


# How each variant's client is made: the SDK's transport, LoopbackTransport, the app's options.
VARIANTS = {
    "SDK (requests)": lambda _: {"use_env_settings": False},
    "LoopbackTransport": lambda _: {"use_env_settings": False, "transport": LoopbackTransport()},
    "the app's (LoopbackTransport, short pipeline)": client_options,
}


def measure(connection_string: str, options: dict[str, Any], calls: int) -> dict[str, float]:
    table = LeanBatchTableClient.from_connection_string(
        connection_string, table_name=f"calls{uuid.uuid4().hex[:12]}", **options
    )
    table.create_table()
    try:
        table.upsert_entity({"PartitionKey": "p", "RowKey": "stock", "available": 1})
        counter = iter(range(10**9))

        def read() -> None:
            table.get_entity("p", "stock")

        def query() -> None:
            rows = table.query_entities(
                "PartitionKey eq @pk and ( RowKey eq @a or RowKey eq @b )",
                parameters={"pk": "p", "a": "stock", "b": "idem:absent"},
            )
            list(rows)

        def commit() -> None:
            n = next(counter)
            table.submit_transaction(
                [
                    ("create", {"PartitionKey": "p", "RowKey": f"idem:{n}", "outcome": "applied"}),
                    ("upsert", {"PartitionKey": "p", "RowKey": "stock", "available": n}),
                ]
            )

        return {
            "point_read_ms": cpu_ms_per_call(read, calls),
            "two_row_query_ms": cpu_ms_per_call(query, calls),
            "two_op_transaction_ms": cpu_ms_per_call(commit, calls),
        }
    finally:
        table.delete_table()
        table.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls of each kind measured")
    args = parser.parse_args()
    azurite = ensure_azurite()
    try:
        for name, options in VARIANTS.items():
            connection = azurite.connection_string
            figures = measure(connection, options(connection), args.calls)
            print(json.dumps({"client": name, "cpu_per_call": figures}))
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
