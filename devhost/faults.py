"""Fault injection for tests: duplicate activity deliveries and crashes after a commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

log = logging.getLogger("devhost")

Outcome = TypeVar("Outcome")


class Fault(Enum):
    DUPLICATE = "duplicate"  # delivered again after the first delivery finished
    DUPLICATE_CONCURRENT = "duplicate_concurrent"  # two deliveries running at the same time
    CRASH_AFTER_COMMIT = "crash_after_commit"  # ran, but the host died before recording it
    FAIL = "fail"  # not run at all: the invocation fails as a transient fault would


@dataclass
class _Rule:
    fault: Fault
    activity: str
    remaining: int | None


class FaultPlan:
    """Which activity invocations to disturb. ``activity="*"`` matches every activity;
    ``times=None`` disturbs every matching invocation, otherwise only the next ``times``."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []

    def duplicate_delivery(
        self, activity: str = "*", times: int | None = 1, concurrent: bool = False
    ) -> None:
        fault = Fault.DUPLICATE_CONCURRENT if concurrent else Fault.DUPLICATE
        self._rules.append(_Rule(fault, activity, times))

    def crash_after_commit(self, activity: str = "*", times: int | None = 1) -> None:
        self._rules.append(_Rule(Fault.CRASH_AFTER_COMMIT, activity, times))

    def fail(self, activity: str = "*", times: int | None = 1) -> None:
        """The activity is not run; each matching invocation fails (a technical fault)."""
        self._rules.append(_Rule(Fault.FAIL, activity, times))

    def add(self, fault: Fault, activity: str = "*", times: int | None = 1) -> None:
        self._rules.append(_Rule(fault, activity, times))

    def clear(self) -> None:
        self._rules.clear()

    def take(self, activity: str) -> Fault | None:
        """The fault for this invocation, if any, consuming one use of its rule."""
        for rule in self._rules:
            if rule.activity in ("*", activity) and (rule.remaining is None or rule.remaining > 0):
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule.fault
        return None


async def invoke_with_faults(
    plan: FaultPlan,
    activity: str,
    invoke: Callable[[str], Awaitable[Outcome]],
    injected_failure: Callable[[], Outcome],
) -> Outcome:
    """Run one activity delivery as the plan disturbs it; ``invoke(note)`` runs it once and
    ``injected_failure()`` is the outcome of a delivery failed without running."""
    fault = plan.take(activity)
    if fault == Fault.FAIL:
        log.info("activity %s: failed by an injected fault", activity)
        return injected_failure()
    if fault == Fault.DUPLICATE_CONCURRENT:
        first, _ = await asyncio.gather(invoke("delivery 1 of 2"), invoke("delivery 2 of 2"))
        return first
    outcome = await invoke("")
    if fault == Fault.DUPLICATE:
        await invoke("duplicate delivery")
    elif fault == Fault.CRASH_AFTER_COMMIT:
        # The first run's result is lost with the "crashed" host; the restarted host delivers
        # the activity again and only that result is recorded.
        outcome = await invoke("redelivered after crash")
    return outcome
