"""Clocks for durable timers: the wall clock, and a virtual clock that tests move by hand."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the host needs from time: the current instant and callbacks at an instant.
    ``schedule=True`` marks a timer function's occurrence rather than a durable timer."""

    def now(self) -> datetime: ...

    def call_at(
        self, when: datetime, callback: Callable[[], None], schedule: bool = False
    ) -> TimerHandle: ...


class WallClock:
    """Real time, with callbacks on the running asyncio loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(
        self, when: datetime, callback: Callable[[], None], schedule: bool = False
    ) -> TimerHandle:
        delay = max(0.0, (when - self.now()).total_seconds())
        return asyncio.get_running_loop().call_later(delay, callback)


class ScaledClock:
    """Real time running ``scale`` times faster: a one-hour timer fires after 60 s at scale 60.
    For end-to-end runs of sagas whose retries and timeouts are minutes or days long."""

    def __init__(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("the time scale must be > 0")
        self.scale = scale
        self._origin = datetime.now(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._started) * self.scale)

    def call_at(
        self, when: datetime, callback: Callable[[], None], schedule: bool = False
    ) -> TimerHandle:
        delay = max(0.0, (when - self.now()).total_seconds() / self.scale)
        return asyncio.get_running_loop().call_later(delay, callback)


class _VirtualTimer:
    def __init__(self, schedule: bool) -> None:
        self.cancelled = False
        self.schedule = schedule

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Time stands still until ``advance`` moves it; due callbacks then run in time order.

    Must be used from the host's event-loop thread (the test API marshals calls there).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        self._queue: list[tuple[datetime, int, _VirtualTimer, Callable[[], None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    def call_at(
        self, when: datetime, callback: Callable[[], None], schedule: bool = False
    ) -> TimerHandle:
        handle = _VirtualTimer(schedule)
        heapq.heappush(self._queue, (when, next(self._order), handle, callback))
        return handle

    def next_due(self, schedules: bool = True) -> datetime | None:
        """When the earliest live timer fires, or None when none is waiting; with
        ``schedules=False`` the earliest durable timer, as timer functions recur forever."""
        while self._queue and self._queue[0][2].cancelled:
            heapq.heappop(self._queue)
        if schedules:
            return self._queue[0][0] if self._queue else None
        durable = [
            when
            for when, _, handle, _ in self._queue
            if not handle.cancelled and not handle.schedule
        ]
        return min(durable, default=None)

    def advance(self, seconds: float) -> int:
        """Move time forward, firing every timer due by then; returns how many fired."""
        return self.advance_to(self._now + timedelta(seconds=seconds))

    def advance_to(self, when: datetime) -> int:
        fired = 0
        while (due := self.next_due()) is not None and due <= when:
            _, _, _, callback = heapq.heappop(self._queue)
            self._now = max(self._now, due)
            callback()
            fired += 1
        self._now = max(self._now, when)
        return fired
