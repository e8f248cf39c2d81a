"""Load test of the order API on devhost + Azurite: sustained orders/s and POST-to-finished latency.

    python benchmarks/orders_load.py --rate 30 --seconds 60 --worker-processes 4 --repeat 3
    python benchmarks/orders_load.py --rate 30 --overload --worker-processes 4

Starts Azurite (if none runs) and the app in a devhost process on the Table store, stocks it,
then offers orders open loop (at fixed times whatever the state of earlier ones, as independent
shoppers would): the rate ramps up from 0 over ``--warmup`` seconds, then holds at ``--rate`` for
``--seconds``. With ``--overload`` it then bursts to 1.5 times the rate for 30 s and returns to
the rate for 60 s. It follows each order by polling
``GET /api/orders/{id}`` as the 202's and then each GET's ``Retry-After`` asks (or every
``--poll-ms``) until its saga has finished.

Reported, for the orders placed after the ramp-up:
- ``completed_per_second``: orders finished per second between the first and the last finish; it
  matches the offered rate only when the app keeps up, and falls behind it when a backlog grows;
- ``latency``: POST sent to saga finished, by the timestamp of the instance's ExecutionCompleted
  history event (read through the durable HTTP API once the run is over; server and client share
  the machine's clock), so the polling interval does not inflate it; ``seen_latency`` runs up to
  the poll that saw the final status; both count from the first POST, so an order the host's
  HTTP throttle turned away (429) and that was sent again later (backing off) counts its wait;
- ``too_busy_answers``: 429s the throttle gave the measured orders' POSTs and polls;
- ``polls_per_order``: GETs answered per measured order until it showed finished (one when the
  host keeps up; each costs devhost about 1.2 ms of CPU);
- ``cpu_ms_per_order`` of devhost (with its worker processes), Azurite and this load client
  (Linux only), measured over the whole run, and their ``total``;
- ``books_balance``: stock and balances moved by exactly the completed orders (none lost or
  applied twice);
- with ``--overload``: orders finished per second while the burst lasted against those of the
  held rate before it, and how long after the burst the p95 of the orders sent was back under 2 s;
- ``loop_seconds``: a reading of the machine's speed just before the run (ten million additions
  in a Python loop): the same code's CPU per order swings with it, from machine to machine and
  hour to hour, so a figure is comparable only beside it.
With ``--repeat N`` each run prints its line, then one line gives min/median/max over the runs.
Targets on 2 cores: >= 30 orders/s sustained, p95 < 2 s, <= 50 ms of CPU per order; in a
burst, >= 90% of the sustained rate, and p95 < 2 s again within 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from app_on_azurite import app_on_azurite

FINISHED = {"Completed", "Compensated", "Cancelled", "Failed"}
# The host's answer when its HTTP throttle turns a request away; it says no Retry-After, so the
# client backs off as well-behaved clients do: 0.5-1 s, then twice that each time, up to 16-32 s
# (azure-core's and urllib3's retry policies stop doubling at 120 s). With a cap of 8 s an
# overloaded host spent a fifth of its CPU turning the same clients away again and again.
TOO_BUSY = 429
TOO_BUSY_FIRST_SECONDS = 1.0
TOO_BUSY_MAX_SECONDS = 32.0


def too_busy_wait(answers_so_far: int) -> float:
    """How long to wait after the n-th 429 (n >= 1): exponential, with jitter so the clients
    turned away together do not all come back together."""
    ceiling = min(TOO_BUSY_MAX_SECONDS, TOO_BUSY_FIRST_SECONDS * 2 ** (answers_so_far - 1))
    return random.uniform(ceiling / 2, ceiling)


SKUS, CUSTOMERS = 20, 50
PRICE_CENTS = 100
BURST_FACTOR, BURST_SECONDS, RECOVERY_SECONDS = 1.5, 30.0, 60.0
P95_TARGET_SECONDS, RECOVERY_BUCKET_SECONDS = 2.0, 10.0


@dataclass(frozen=True)
class Phase:
    """Orders offered at a rate going linearly from ``start`` to ``end`` per second."""

    name: str
    start: float
    end: float
    seconds: float


@dataclass(frozen=True)
class Outcome:
    order_id: str
    sent: float  # epoch seconds when the POST was sent
    seen: float  # epoch seconds when a poll first showed the final status
    status: str
    too_busy: int  # 429 answers on the way (the host's HTTP throttle), each waited out
    polls: int  # GETs answered (not turned away) until the final status showed


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
    # A 429 started nothing: the same order again later, under the same key.
    created, answer, too_busy = await past_throttle(
        http, "POST", "/api/orders", json=body, headers=headers
    )
    order_id = created["orderId"]
    wait = poll_seconds or float(answer["Retry-After"])
    polls = 0
    while True:
        await asyncio.sleep(wait)
        order, answer, too_busy = await past_throttle(
            http, "GET", f"/api/orders/{order_id}", too_busy
        )
        polls += 1
        # As the API asks: a GET of an unfinished order says when to look again.
        wait = poll_seconds or float(answer.get("Retry-After", wait))
        if order["status"] in FINISHED:
            return Outcome(order_id, sent, time.time(), order["status"], too_busy, polls)


async def past_throttle(
    http: aiohttp.ClientSession, method: str, path: str, too_busy: int = 0, **kwargs: Any
) -> tuple[Any, Mapping[str, str], int]:
    """The JSON body and headers of the answer, sending the request again (backing off) while
    the host's throttle turns it away; also the 429s counted so far, from ``too_busy`` on."""
    while True:
        async with http.request(method, path, **kwargs) as response:
            if response.status != TOO_BUSY:
                response.raise_for_status()
                return await response.json(), response.headers, too_busy
        too_busy += 1
        await asyncio.sleep(too_busy_wait(too_busy))


async def finished_at(http: aiohttp.ClientSession, order_id: str) -> float:
    """Epoch seconds of the instance's ExecutionCompleted event (microsecond timestamps)."""
    url = f"/runtime/webhooks/durabletask/instances/{order_id}?showHistory=true"
    instance, _, _ = await past_throttle(http, "GET", url)
    history = instance["historyEvents"]
    stamp = next(e["Timestamp"] for e in history if e["EventType"] == "ExecutionCompleted")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def profile(rate: float, seconds: float, warmup: float, overload: bool) -> list[Phase]:
    """The warm-up climbs linearly from 0 to `rate`, as load tests ramp up: a cold host
    (imports, JIT, empty connection pools) hit at full rate at once measures its start, not its
    steady state. Then the rate holds; an overload run adds the burst and the return."""
    phases = [Phase("warmup", 0, rate, warmup), Phase("hold", rate, rate, seconds)]
    if overload:
        burst = rate * BURST_FACTOR
        phases += [
            Phase("burst", burst, burst, BURST_SECONDS),
            Phase("recovery", rate, rate, RECOVERY_SECONDS),
        ]
    return phases


def arrival_times(phases: list[Phase]) -> list[tuple[float, str]]:
    """When each order is sent (seconds from the start) and in which phase: the n-th order of
    a phase goes when the phase's offered count (the integral of its rate) reaches n."""
    times: list[tuple[float, str]] = []
    began = 0.0
    for phase in phases:
        slope = (phase.end - phase.start) / phase.seconds if phase.seconds else 0.0
        total = round((phase.start + phase.end) / 2 * phase.seconds)
        for index in range(total):
            if slope:  # solve start*t + slope*t^2/2 = index
                t = (-phase.start + math.sqrt(phase.start**2 + 2 * slope * index)) / slope
            else:
                t = index / phase.start
            times.append((began + t, phase.name))
        began += phase.seconds
    return times


def window(phases: list[Phase], name: str) -> tuple[float, float]:
    """A phase's start and end, in seconds from the start of the run."""
    began = 0.0
    for phase in phases:
        if phase.name == name:
            return began, began + phase.seconds
        began += phase.seconds
    raise KeyError(name)


async def offer(
    times: list[float], place: Callable[[int], Coroutine[Any, Any, Outcome]]
) -> tuple[float, list[Outcome]]:
    """Start order i at times[i] seconds, whatever became of the earlier ones (open loop);
    the epoch second the run began, and every order's outcome."""
    loop = asyncio.get_running_loop()
    began, epoch = loop.time(), time.time()
    tasks: list[asyncio.Task[Outcome]] = []
    for index, at in enumerate(times):
        await asyncio.sleep(max(0.0, began + at - loop.time()))
        tasks.append(asyncio.create_task(place(index)))
    return epoch, list(await asyncio.gather(*tasks))


async def prepare(
    http: aiohttp.ClientSession, skus: list[str], customers: list[str], orders: int
) -> None:
    for sku in skus:
        stock = {"available": orders, "unitPriceCents": PRICE_CENTS}
        async with http.put(f"/api/inventory/{sku}", json=stock) as response:
            response.raise_for_status()
    for customer in customers:
        account = {"balanceCents": orders * PRICE_CENTS}
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


async def books_balance(
    http: aiohttp.ClientSession, skus: list[str], customers: list[str], orders: int, sold: int
) -> bool:
    """Stock and balances moved by exactly ``sold`` orders of one unit at PRICE_CENTS."""
    taken = paid = 0
    for sku in skus:
        async with http.get(f"/api/inventory/{sku}") as response:
            taken += orders - (await response.json())["available"]
    for customer in customers:
        async with http.get(f"/api/accounts/{customer}") as response:
            paid += orders * PRICE_CENTS - (await response.json())["balanceCents"]
    return taken == sold and paid == sold * PRICE_CENTS


@dataclass
class LoadRun:
    epoch: float  # when offering began
    outcomes: list[Outcome]
    finished: list[float]  # each order's ExecutionCompleted time
    cpu_before: list[float | None]
    cpu_after: list[float | None]
    books_balance: bool


async def load(
    base_url: str,
    times: list[float],
    poll_seconds: float | None,
    measure: Callable[[], list[float | None]],
) -> LoadRun:
    # Orders spread over a catalogue and a customer base, as in a shop (contention on one hot
    # row is tested in tests/integration, not measured here).
    skus = [f"sku{index}" for index in range(SKUS)]
    customers = [f"c{index}" for index in range(CUSTOMERS)]
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=connector) as http:
        await prepare(http, skus, customers, len(times))
        before = measure()
        epoch, outcomes = await offer(
            times,
            lambda i: one_order(http, customers[i % CUSTOMERS], skus[i % SKUS], poll_seconds),
        )
        after = measure()
        finished = [await finished_at(http, outcome.order_id) for outcome in outcomes]
        sold = sum(1 for outcome in outcomes if outcome.status == "Completed")
        balanced = await books_balance(http, skus, customers, len(times), sold)
    return LoadRun(epoch, outcomes, finished, before, after, balanced)


def finish_rate(finished: list[float], start: float, end: float) -> float:
    """Orders finished per second between two epoch seconds."""
    return round(sum(1 for at in finished if start <= at < end) / (end - start), 1)


def recovery_seconds(run: LoadRun, after: float) -> float | None:
    """Seconds after ``after`` (epoch) from which every bucket of orders sent has a p95 under
    the target, or None if the last bucket still has not."""
    buckets: dict[int, list[float]] = {}
    for outcome, end in zip(run.outcomes, run.finished, strict=True):
        if outcome.sent >= after:
            index = int((outcome.sent - after) // RECOVERY_BUCKET_SECONDS)
            buckets.setdefault(index, []).append(end - outcome.sent)
    slow = [
        i for i, latencies in buckets.items() if percentile(latencies, 0.95) >= P95_TARGET_SECONDS
    ]
    if not slow:
        return 0.0
    if max(slow) == max(buckets):
        return None
    return (max(slow) + 1) * RECOVERY_BUCKET_SECONDS


def run(
    phases: list[Phase], poll_ms: int | None, workers: int, log_path: Path | None = None
) -> dict[str, Any]:
    arrivals = arrival_times(phases)
    times = [at for at, _ in arrivals]
    with app_on_azurite("Load", workers, log_path) as (app, azurite):
        azurite_pid = azurite.process.pid if azurite.process else None

        def measure() -> list[float | None]:
            # This process is devhost's and Azurite's parent: count it alone.
            own = cpu_seconds(os.getpid(), with_children=False)
            host = cpu_seconds(app.pid, with_children=False)
            everything = cpu_seconds(app.pid)
            workers = None if everything is None or host is None else everything - host
            return [host, orchestrator_cpu_seconds(app.base_url), workers,
                    cpu_seconds(azurite_pid), own]  # fmt: skip

        result = asyncio.run(load(app.base_url, times, poll_ms and poll_ms / 1000, measure))
    return report(phases, arrivals, result, poll_ms, workers)


def report(
    phases: list[Phase],
    arrivals: list[tuple[float, str]],
    result: LoadRun,
    poll_ms: int | None,
    workers: int,
) -> dict[str, Any]:
    total = len(arrivals)
    names = ("devhost", "of_it_orchestrators", "devhost_workers", "azurite", "load_client")
    cpu: dict[str, float | None] = {
        name: None if start is None or end is None else round((end - start) * 1000 / total, 1)
        for name, start, end in zip(names, result.cpu_before, result.cpu_after, strict=True)
    }
    parts = [cpu[name] for name in ("devhost", "devhost_workers", "azurite", "load_client")]
    cpu["total"] = None if None in parts else round(sum(p for p in parts if p is not None), 1)
    # The orders sent after the warm-up are the ones measured.
    kept = [i for i, (_, phase) in enumerate(arrivals) if phase != "warmup"]
    outcomes = [result.outcomes[i] for i in kept]
    finished = [result.finished[i] for i in kept]
    finishes = sorted(finished)
    latencies = [end - outcome.sent for end, outcome in zip(finished, outcomes, strict=True)]
    figures: dict[str, Any] = {
        "offered_per_second": phases[1].start,
        "orders": len(outcomes),
        "completed": sum(1 for outcome in outcomes if outcome.status == "Completed"),
        "completed_per_second": round((len(finishes) - 1) / (finishes[-1] - finishes[0]), 1),
        "latency": summary(latencies),
        "seen_latency": summary([outcome.seen - outcome.sent for outcome in outcomes]),
        "too_busy_answers": sum(outcome.too_busy for outcome in outcomes),
        "polls_per_order": round(statistics.fmean(o.polls for o in outcomes), 2),
        "cpu_ms_per_order": cpu,
        "books_balance": result.books_balance,
        "poll_ms": poll_ms or "Retry-After",
        "worker_processes": workers,
        "cores": os.cpu_count(),
    }
    if any(phase.name == "burst" for phase in phases):
        hold_start, hold_end = window(phases, "hold")
        burst_start, burst_end = window(phases, "burst")
        # The held rate's capacity: its second half, once the ramp's backlog (if any) is gone.
        sustained = finish_rate(
            result.finished, result.epoch + (hold_start + hold_end) / 2, result.epoch + hold_end
        )
        during = finish_rate(result.finished, result.epoch + burst_start, result.epoch + burst_end)
        figures["overload"] = {
            "sustained_per_second": sustained,
            "burst_offered_per_second": phases[2].start,
            "burst_completed_per_second": during,
            "burst_share_of_sustained": round(during / sustained, 2) if sustained else None,
            "p95_back_under_2s_after_seconds": recovery_seconds(result, result.epoch + burst_end),
        }
    return figures


# Run at module level, as the one-liner the README's older figures were read with (a loop in a
# function, on fast locals, takes less than half as long).
_LOOP = compile("x = 0\nfor i in range(10_000_000):\n    x += i\n", "<loop>", "exec")


def loop_seconds() -> float:
    """Seconds this machine takes for ten million additions in a module-level Python loop."""
    started = time.perf_counter()
    exec(_LOOP, {})
    return round(time.perf_counter() - started, 2)


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": min(values),
        "median": round(statistics.median(values), 2),
        "max": max(values),
    }


def over_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Min/median/max over the runs of what the README reports."""
    cpu = {
        name: spread([r["cpu_ms_per_order"][name] for r in runs])
        for name in ("devhost", "devhost_workers", "azurite", "load_client", "total")
        if all(r["cpu_ms_per_order"][name] is not None for r in runs)
    }
    return {
        "runs": len(runs),
        "cores": os.cpu_count(),
        "offered_per_second": runs[0]["offered_per_second"],
        "completed_per_second": spread([r["completed_per_second"] for r in runs]),
        "p95_ms": spread([r["latency"]["p95_ms"] for r in runs]),
        "cpu_ms_per_order": cpu,
        "loop_seconds": spread([r["loop_seconds"] for r in runs]),
        "every_order_completed": all(r["completed"] == r["orders"] for r in runs),
        "books_balance": all(r["books_balance"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=30, help="orders offered per second")
    parser.add_argument("--seconds", type=float, default=60, help="how long the rate is held")
    parser.add_argument(
        "--warmup", type=float, default=10, help="seconds of ramp-up to --rate, not counted"
    )
    parser.add_argument(
        "--overload",
        action="store_true",
        help=f"after the hold, {BURST_FACTOR}x the rate for {BURST_SECONDS:g} s, then the rate "
        f"for {RECOVERY_SECONDS:g} s",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs, one after the other")
    parser.add_argument("--log", type=Path, help="append devhost's log to this file")
    parser.add_argument(
        "--poll-ms", type=int, help="each order's polling interval (default: the API's Retry-After)"
    )
    parser.add_argument(
        "--worker-processes", type=int, default=0, help="devhost's --worker-processes (0: threads)"
    )
    args = parser.parse_args()
    phases = profile(args.rate, args.seconds, args.warmup, args.overload)
    runs = []
    for _ in range(args.repeat):
        speed = loop_seconds()
        runs.append(run(phases, args.poll_ms, args.worker_processes, args.log))
        runs[-1]["loop_seconds"] = speed
        print(json.dumps(runs[-1]), flush=True)
    if args.repeat > 1:
        print(json.dumps({"over_runs": over_runs(runs)}))


if __name__ == "__main__":
    main()
