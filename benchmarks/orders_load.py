"""Load test of the order API on devhost + Azurite: sustained orders/s and POST-to-finished latency.

    python benchmarks/orders_load.py --rate 30 --seconds 60 --worker-processes 4

Starts Azurite (if none runs) and the app in a devhost process on the Table store, stocks it,
then offers orders open loop (at fixed times whatever the state of earlier ones, as independent
shoppers would): the rate ramps up from 0 over ``--warmup`` seconds, then holds at ``--rate`` for
``--seconds``. It follows each order by polling
``GET /api/orders/{id}`` as the 202's ``Retry-After`` asks (or every ``--poll-ms``) until its saga
has finished.

Reported, for the orders placed after the ramp-up:
- ``completed_per_second``: orders finished per second between the first and the last finish; it
  matches the offered rate only when the app keeps up, and falls behind it when a backlog grows;
- ``latency``: POST sent to saga finished, by the timestamp of the instance's ExecutionCompleted
  history event (read through the durable HTTP API once the run is over; server and client share
  the machine's clock), so the polling interval does not inflate it; ``seen_latency`` runs up to
  the poll that saw the final status;
- ``cpu_ms_per_order`` of devhost (with its worker processes), Azurite and this load client
  (Linux only), measured over the whole run.
Targets on 2 cores: >= 30 orders/s sustained, p95 < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.azurite import ensure_azurite  # noqa: E402
from devhost.process import DevHostProcess  # noqa: E402

FINISHED = {"Completed", "Compensated", "Cancelled", "Failed"}
SKUS, CUSTOMERS = 20, 50


@dataclass(frozen=True)
class Outcome:
    order_id: str
    sent: float  # epoch seconds when the POST was sent
    seen: float  # epoch seconds when a poll first showed the final status
    status: str


async def one_order(
    http: aiohttp.ClientSession, customer: str, sku: str, poll_seconds: float | None
) -> Outcome:
    sent = time.time()
    body = {
        "customerId": customer,
        "items": [{"sku": sku, "quantity": 1}],
        "shippingAddress": {"country": "NL"},
    }
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    async with http.post("/api/orders", json=body, headers=headers) as response:
        response.raise_for_status()
        order_id = (await response.json())["orderId"]
        if poll_seconds is None:  # as the API asks
            poll_seconds = float(response.headers["Retry-After"])
    while True:
        await asyncio.sleep(poll_seconds)
        async with http.get(f"/api/orders/{order_id}") as response:
            order = await response.json()
        if order["status"] in FINISHED:
            return Outcome(order_id, sent, time.time(), order["status"])


async def finished_at(http: aiohttp.ClientSession, order_id: str) -> float:
    """Epoch seconds of the instance's ExecutionCompleted event (microsecond timestamps)."""
    url = f"/runtime/webhooks/durabletask/instances/{order_id}?showHistory=true"
    async with http.get(url) as response:
        history = (await response.json())["historyEvents"]
    stamp = next(e["Timestamp"] for e in history if e["EventType"] == "ExecutionCompleted")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def arrival_times(rate: float, seconds: float, warmup: float) -> tuple[list[float], int]:
    """When each order is sent, and how many of them are warm-up. During the warm-up the rate
    climbs linearly from 0 to `rate`, as load tests ramp up: a cold host (imports, JIT, empty
    connection pools) hit at full rate at once measures its start, not its steady state."""
    ramp = round(rate * warmup / 2)
    times = [math.sqrt(2 * warmup * index / rate) for index in range(ramp)]
    times += [warmup + index / rate for index in range(round(rate * seconds))]
    return times, ramp


async def offer(
    times: list[float], place: Callable[[int], Coroutine[Any, Any, Outcome]]
) -> list[Outcome]:
    """Start order i at times[i] seconds, whatever became of the earlier ones (open loop)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    tasks: list[asyncio.Task[Outcome]] = []
    for index, at in enumerate(times):
        await asyncio.sleep(max(0.0, began + at - loop.time()))
        tasks.append(asyncio.create_task(place(index)))
    return list(await asyncio.gather(*tasks))


async def prepare(
    http: aiohttp.ClientSession, skus: list[str], customers: list[str], orders: int
) -> None:
    for sku in skus:
        stock = {"available": orders, "unitPriceCents": 100}
        async with http.put(f"/api/inventory/{sku}", json=stock) as response:
            response.raise_for_status()
    for customer in customers:
        account = {"balanceCents": orders * 100}
        async with http.put(f"/api/accounts/{customer}", json=account) as response:
            response.raise_for_status()


def cpu_seconds(pid: int | None, with_children: bool = True) -> float | None:
    """CPU time (user + system) of a process and its live descendants, from /proc (Linux)."""
    if pid is None or not Path(f"/proc/{pid}/stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    family = {pid}
    while with_children:
        grown = family | {child for child, (parent, _) in stats.items() if parent in family}
        if grown == family:
            break
        family = grown
    return sum(stats[member][1] for member in family if member in stats) / tick


def orchestrator_cpu_seconds(base_url: str) -> float:
    """CPU devhost spent running orchestrator code (the SDK's replay included)."""
    with urllib.request.urlopen(f"{base_url}/admin/host/status", timeout=10) as response:
        return sum(json.load(response)["orchestratorCpuSeconds"].values())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


def summary(values: list[float]) -> dict[str, int]:
    return {
        "p50_ms": round(statistics.median(values) * 1000),
        "p95_ms": round(percentile(values, 0.95) * 1000),
        "p99_ms": round(percentile(values, 0.99) * 1000),
        "max_ms": round(max(values) * 1000),
    }


async def load(
    base_url: str,
    times: list[float],
    poll_seconds: float | None,
    measure: Callable[[], list[float | None]],
) -> tuple[list[Outcome], list[float], list[float | None], list[float | None]]:
    # Orders spread over a catalogue and a customer base, as in a shop (contention on one hot
    # row is tested in tests/integration, not measured here).
    skus = [f"sku{index}" for index in range(SKUS)]
    customers = [f"c{index}" for index in range(CUSTOMERS)]
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=connector) as http:
        await prepare(http, skus, customers, len(times))
        before = measure()
        outcomes = await offer(
            times,
            lambda i: one_order(http, customers[i % CUSTOMERS], skus[i % SKUS], poll_seconds),
        )
        after = measure()
        finished = [await finished_at(http, outcome.order_id) for outcome in outcomes]
    return outcomes, finished, before, after


def run(
    rate: float, seconds: float, warmup: float, poll_ms: int | None, workers: int
) -> dict[str, Any]:
    azurite = ensure_azurite()
    run_id = uuid.uuid4().hex[:8]
    env = {
        "SAGA_STORAGE_CONNECTION": azurite.connection_string,
        "SAGA_TABLE_PREFIX": f"load{run_id}",
        "CHAOS_FAULT_RATE": "0",
    }
    times, skipped = arrival_times(rate, seconds, warmup)
    total, measured = len(times), len(times) - skipped
    try:
        extra = ["--worker-processes", str(workers)]
        with DevHostProcess(
            ROOT, azurite.connection_string, f"Load{run_id}", env=env, extra_args=extra
        ) as app:
            azurite_pid = azurite.process.pid if azurite.process else None

            def measure() -> list[float | None]:
                # This process is devhost's and Azurite's parent: count it alone.
                own = cpu_seconds(os.getpid(), with_children=False)
                host = cpu_seconds(app.pid, with_children=False)
                everything = cpu_seconds(app.pid)
                workers = None if everything is None or host is None else everything - host
                return [host, orchestrator_cpu_seconds(app.base_url), workers,
                        cpu_seconds(azurite_pid), own]  # fmt: skip

            outcomes, finished, before, after = asyncio.run(
                load(app.base_url, times, poll_ms and poll_ms / 1000, measure)
            )
    finally:
        azurite.stop()
    names = ("devhost", "of_it_orchestrators", "devhost_workers", "azurite", "load_client")
    cpu = {
        name: None if start is None or end is None else round((end - start) * 1000 / total, 1)
        for name, start, end in zip(names, before, after, strict=True)
    }
    outcomes, finished = outcomes[skipped:], finished[skipped:]
    finishes = sorted(finished)
    latencies = [end - outcome.sent for end, outcome in zip(finished, outcomes, strict=True)]
    return {
        "offered_per_second": rate,
        "orders": measured,
        "completed": sum(1 for outcome in outcomes if outcome.status == "Completed"),
        "completed_per_second": round((len(finishes) - 1) / (finishes[-1] - finishes[0]), 1),
        "latency": summary(latencies),
        "seen_latency": summary([outcome.seen - outcome.sent for outcome in outcomes]),
        "cpu_ms_per_order": cpu,
        "poll_ms": poll_ms or "Retry-After",
        "worker_processes": workers,
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=30, help="orders offered per second")
    parser.add_argument("--seconds", type=float, default=60, help="how long orders are offered")
    parser.add_argument(
        "--warmup", type=float, default=10, help="seconds of ramp-up to --rate, not counted"
    )
    parser.add_argument(
        "--poll-ms", type=int, help="each order's polling interval (default: the API's Retry-After)"
    )
    parser.add_argument(
        "--worker-processes", type=int, default=0, help="devhost's --worker-processes (0: threads)"
    )
    args = parser.parse_args()
    result = run(args.rate, args.seconds, args.warmup, args.poll_ms, args.worker_processes)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
