"""Response time of the operator's order page for an order of 100 lines, on devhost + Azurite.

    python benchmarks/operator_page.py --lines 100 --rounds 50

Starts Azurite (if none runs) and the app in a devhost process on the Table store, as
`scripts/run.sh` does (four worker processes), places one order of ``--lines`` lines that waits
for approval, then times ``--rounds`` loads of its page the way a browser makes them: the page
(`GET /api/operator/orders/{id}`), then the order and its timeline
(`GET /api/orders/{id}`, `GET /api/orders/{id}/timeline`) in parallel. It approves the order,
waits until it has completed (a longer history) and times the loads again.

Reported per state (AwaitingApproval, Completed), in milliseconds: median, p95 and max of each
request and of the whole load (page, then both calls). Target: a load within 300 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from app_on_azurite import app_on_azurite

LINE_PRICE_CENTS = 1_500  # 100 lines reach the default approval threshold (100000)


def timed(session: requests.Session, url: str) -> float:
    start = time.perf_counter()
    response = session.get(url, timeout=30)
    elapsed = (time.perf_counter() - start) * 1000
    response.raise_for_status()
    return elapsed


def load_page(sessions: list[requests.Session], base: str, order_id: str) -> dict[str, float]:
    """One page load: the HTML, then the two calls its script makes at once."""
    start = time.perf_counter()
    page = timed(sessions[0], f"{base}/api/operator/orders/{order_id}")
    with ThreadPoolExecutor(2) as pool:
        order = pool.submit(timed, sessions[1], f"{base}/api/orders/{order_id}")
        timeline = pool.submit(timed, sessions[2], f"{base}/api/orders/{order_id}/timeline")
        calls = {"order": order.result(), "timeline": timeline.result()}
    return {"page": page, **calls, "load": (time.perf_counter() - start) * 1000}


def summary(samples: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    def stats(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return {
            "median": round(statistics.median(ordered), 1),
            "p95": round(p95, 1),
            "max": round(ordered[-1], 1),
        }

    return {name: stats([sample[name] for sample in samples]) for name in samples[0]}


def wait_for(session: requests.Session, base: str, order_id: str, status: str) -> None:
    deadline = time.monotonic() + 120
    while session.get(f"{base}/api/orders/{order_id}", timeout=30).json()["status"] != status:
        if time.monotonic() > deadline:
            raise SystemExit(f"order {order_id} did not reach {status}")
        time.sleep(0.2)


def place(session: requests.Session, base: str, lines: int, run_id: str) -> str:
    items = []
    for index in range(lines):
        sku = f"bench{run_id}-{index}"
        body = {"available": 10, "unitPriceCents": LINE_PRICE_CENTS}
        session.put(f"{base}/api/inventory/{sku}", json=body, timeout=30).raise_for_status()
        items.append({"sku": sku, "quantity": 1})
    customer = f"bench{run_id}"
    account = {"balanceCents": 10**9}
    session.put(f"{base}/api/accounts/{customer}", json=account, timeout=30).raise_for_status()
    order = {"customerId": customer, "items": items, "shippingAddress": {"country": "NL"}}
    response = session.post(f"{base}/api/orders", json=order, timeout=30)
    response.raise_for_status()
    return str(response.json()["orderId"])


def run(lines: int, rounds: int, workers: int) -> dict[str, Any]:
    with app_on_azurite("Page", workers) as (app, _):
        sessions = [requests.Session() for _ in range(3)]
        order_id = place(sessions[0], app.base_url, lines, uuid.uuid4().hex[:8])
        result: dict[str, Any] = {"lines": lines, "rounds": rounds}
        for status in ("AwaitingApproval", "Completed"):
            wait_for(sessions[0], app.base_url, order_id, status)
            load_page(sessions, app.base_url, order_id)  # warm-up: first calls, caches
            samples = [load_page(sessions, app.base_url, order_id) for _ in range(rounds)]
            result[status] = summary(samples)
            if status == "AwaitingApproval":
                url = f"{app.base_url}/api/orders/{order_id}/approval"
                sessions[0].post(url, json={"approved": True}, timeout=30).raise_for_status()
        timeline = sessions[0].get(f"{app.base_url}/api/orders/{order_id}/timeline").content
        result["timeline_bytes"] = len(timeline)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100, help="order lines (1-100)")
    parser.add_argument("--rounds", type=int, default=50, help="page loads timed per state")
    parser.add_argument(
        "--worker-processes", type=int, default=4, help="devhost's --worker-processes (0: threads)"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.lines, args.rounds, args.worker_processes)))


if __name__ == "__main__":
    main()
