"""Load test of the order API on devhost + Azurite: orders/s and POST-to-finished latency.

    python benchmarks/orders_load.py --orders 600 --clients 40 [--worker-processes 2]

Starts Azurite (if none runs) and the app in a devhost process on the Table store, stocks it,
then keeps ``--clients`` callers busy: each POSTs an order and polls GET /api/orders/{id} every
``--poll-ms`` until the saga has finished. Latency is POST to the first GET that shows the final
status (so it includes up to one polling interval). Targets on 2 cores: >= 30 orders/s, p95 < 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.azurite import ensure_azurite  # noqa: E402
from devhost.process import DevHostProcess  # noqa: E402

FINISHED = {"Completed", "Compensated", "Cancelled", "Failed"}
local = threading.local()


def session() -> requests.Session:
    if not hasattr(local, "session"):
        local.session = requests.Session()
    return local.session


def one_order(base_url: str, customer: str, sku: str, poll_seconds: float) -> tuple[float, str]:
    began = time.perf_counter()
    body = {
        "customerId": customer,
        "items": [{"sku": sku, "quantity": 1}],
        "shippingAddress": {"country": "NL"},
    }
    response = session().post(f"{base_url}/api/orders", json=body, timeout=30,
                              headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    response.raise_for_status()
    order_id = response.json()["orderId"]
    while True:
        status = session().get(f"{base_url}/api/orders/{order_id}", timeout=30).json()["status"]
        if status in FINISHED:
            return time.perf_counter() - began, status
        time.sleep(poll_seconds)


def run(orders: int, clients: int, poll_ms: int, worker_processes: int) -> dict[str, object]:
    azurite = ensure_azurite()
    run_id = uuid.uuid4().hex[:8]
    env = {
        "SAGA_STORAGE_CONNECTION": azurite.connection_string,
        "SAGA_TABLE_PREFIX": f"load{run_id}",
        "CHAOS_FAULT_RATE": "0",
    }
    try:
        extra = ["--worker-processes", str(worker_processes)]
        with DevHostProcess(
            ROOT, azurite.connection_string, f"Load{run_id}", env=env, extra_args=extra
        ) as app:
            base = app.base_url
            http = session()
            stock = {"available": orders, "unitPriceCents": 100}
            http.put(f"{base}/api/inventory/apple", json=stock, timeout=10).raise_for_status()
            customers = [f"c{index}" for index in range(clients)]
            for customer in customers:
                http.put(f"{base}/api/accounts/{customer}", json={"balanceCents": orders * 100},
                         timeout=10).raise_for_status()  # fmt: skip
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                results = list(
                    pool.map(
                        lambda i: one_order(base, customers[i % clients], "apple", poll_ms / 1000),
                        range(orders),
                    )
                )
            elapsed = time.perf_counter() - began
    finally:
        azurite.stop()
    latencies = sorted(latency for latency, _ in results)
    return {
        "orders": orders,
        "clients": clients,
        "completed": sum(1 for _, status in results if status == "Completed"),
        "seconds": round(elapsed, 1),
        "orders_per_second": round(orders / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000),
        "poll_ms": poll_ms,
        "worker_processes": worker_processes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--poll-ms", type=int, default=50)
    parser.add_argument(
        "--worker-processes", type=int, default=0, help="devhost's --worker-processes (0: threads)"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.orders, args.clients, args.poll_ms, args.worker_processes)))


if __name__ == "__main__":
    main()
