"""Measures devhost: orchestrations of five sequential activities per second, and latency.

    python benchmarks/devhost_throughput.py --store memory --count 2000
    python benchmarks/devhost_throughput.py --store tables --count 600   # needs Azurite
    add --worker-processes 2 to run activities and episodes in worker processes,
    --checkpoint-ms 250 to let checkpoints wait as python -m devhost does by default

A closed loop keeps ``--concurrency`` orchestrations in flight; latency is from start_new to the
Completed status, as a client polling the status would see it (without the polling delay).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.app_loader import load_app  # noqa: E402
from devhost.clock import WallClock  # noqa: E402
from devhost.config import HostConfig  # noqa: E402
from devhost.instance import COMPLETED  # noqa: E402
from devhost.runtime import TaskHub  # noqa: E402
from devhost.store import InstanceStore  # noqa: E402
from devhost.store.memory import MemoryStore  # noqa: E402
from devhost.workers import WorkerPool  # noqa: E402

APP = Path(__file__).parent / "apps" / "chain"


@contextlib.contextmanager
def make_store(kind: str) -> Iterator[InstanceStore]:
    """The store to measure; for tables, an Azurite (started here only if none is running)."""
    if kind == "memory":
        yield MemoryStore()
        return
    from devhost.azurite import ensure_azurite
    from devhost.store.tables import TableStore

    handle = ensure_azurite()
    try:
        yield TableStore(handle.connection_string, f"bench{uuid.uuid4().hex[:8]}")
    finally:
        handle.stop()


async def run(
    store_kind: str, count: int, concurrency: int, workers: int, checkpoint_ms: float
) -> dict[str, object]:
    with make_store(store_kind) as store:
        pool = None
        if workers > 0:
            # As on the Functions host: activities and episodes in language-worker processes.
            pool = WorkerPool(workers, APP / "function_app.py")
            await pool.start()
        hub = TaskHub(
            load_app(APP),
            store,
            WallClock(),
            HostConfig(),
            activity_runner=pool,
            episode_runner=pool,
            checkpoint_delay=checkpoint_ms / 1000,
        )
        result = await measure(hub, count, concurrency, store_kind)
        return {**result, "worker_processes": workers, "checkpoint_ms": checkpoint_ms}


async def measure(hub: TaskHub, count: int, concurrency: int, store_kind: str) -> dict[str, object]:
    await hub.start()
    latencies: list[float] = []
    slots = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with slots:
            began = time.perf_counter()
            # The input as the host stores an SDK client's start: its JSON text as a string.
            instance_id = await hub.start_new("chain", None, json.dumps(json.dumps(index)))
            state = await hub.wait_for(instance_id, lambda s: s.is_terminal, 60)
            if state.runtime_status != COMPLETED or json.loads(state.output or "0") != index + 5:
                raise RuntimeError(f"{instance_id} ended {state.runtime_status}: {state.output}")
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - began
    await hub.stop()
    latencies.sort()
    return {
        "store": store_kind,
        "orchestrations": count,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "orchestrations_per_second": round(count / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["memory", "tables"], default="memory")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=0,
        help="run activities and episodes in this many worker processes (0: in this process)",
    )
    parser.add_argument(
        "--checkpoint-ms",
        type=float,
        default=0.0,
        help="how long an episode's checkpoint may wait (python -m devhost's --checkpoint-ms; "
        "0: every episode is written before its work starts, as in the figures before it)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(
        run(args.store, args.count, args.concurrency, args.worker_processes, args.checkpoint_ms)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
