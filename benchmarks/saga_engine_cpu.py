"""Compares orchestrator CPU: the saga engine against a hand-written orchestrator.

    python benchmarks/saga_engine_cpu.py --count 60 --rounds 25

All make the same five activity calls; the figure is the CPU time spent inside orchestrator
episodes (the SDK's replay plus the orchestrator's own code), per orchestration, as devhost
measures it around each episode. The hand-written baseline makes the same durable calls as the
engine: it races each step against the saga's two listeners, Cancel and the operator's
RetryCompensation, as the saga semantics require; a bare sequence without those races is
reported too. Target: engine <= 1.2x the hand-written orchestrator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.app_loader import load_app  # noqa: E402
from devhost.clock import WallClock  # noqa: E402
from devhost.instance import COMPLETED  # noqa: E402
from devhost.runtime import TaskHub  # noqa: E402
from devhost.store.memory import MemoryStore  # noqa: E402

APP = Path(__file__).parent / "apps" / "saga_cpu"


async def cpu_per_orchestration(hub: TaskHub, name: str, count: int) -> float:
    before = hub.orchestrator_cpu_seconds[name]
    # The input as the host stores an SDK client's start: its JSON text as a string.
    inputs = [json.dumps(json.dumps({"order": i})) for i in range(count)]
    ids = [await hub.start_new(name, None, text) for text in inputs]
    for instance_id in ids:
        state = await hub.wait_for(instance_id, lambda s: s.is_terminal, 60)
        if state.runtime_status != COMPLETED:
            raise RuntimeError(f"{name} {instance_id} ended {state.runtime_status}")
    return (hub.orchestrator_cpu_seconds[name] - before) / count


async def run(count: int, rounds: int) -> dict[str, object]:
    hub = TaskHub(load_app(APP), MemoryStore(), WallClock())
    await hub.start()
    names = ("engine", "by_hand", "by_hand_no_cancel")
    for name in names:
        await cpu_per_orchestration(hub, name, 20)  # warm up imports and caches
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):  # interleaved, so drift in machine load hits all alike
        for name in names:
            samples[name].append(await cpu_per_orchestration(hub, name, count))
    await hub.stop()
    best = {name: min(values) for name, values in samples.items()}
    return {
        "orchestrations_per_round": count,
        "rounds": rounds,
        "engine_cpu_ms": round(best["engine"] * 1000, 3),
        "hand_written_cpu_ms": round(best["by_hand"] * 1000, 3),
        "ratio": _median_ratio(samples["engine"], samples["by_hand"]),
        "bare_sequence_cpu_ms": round(best["by_hand_no_cancel"] * 1000, 3),
        "ratio_to_bare_sequence": _median_ratio(samples["engine"], samples["by_hand_no_cancel"]),
    }


def _median_ratio(engine: list[float], baseline: list[float]) -> float:
    """The median over rounds of each round's ratio: the two ran moments apart, so a slow spell
    of the machine (these vary by half within minutes) slows both, where the ratio of the two
    fastest rounds, from different moments, moved by 0.1 from one run to the next."""
    return round(statistics.median(e / b for e, b in zip(engine, baseline, strict=True)), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(run(args.count, args.rounds))))


if __name__ == "__main__":
    main()
