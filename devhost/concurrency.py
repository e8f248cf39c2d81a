"""The Durable extension's work-item throttles: at most N activities and N orchestrator episodes
running at once (host.json durableTask maxConcurrentActivityFunctions and
maxConcurrentOrchestratorFunctions), the rest waiting their turn in order.

On the Functions host these bound what the extension hands the language worker at once
(durabletask, src/DurableTask.Core/WorkItemDispatcher.cs: a SemaphoreSlim of
MaxConcurrentWorkItems is waited on before the next work item is fetched); the worker's own
thread pool then bounds what runs (devhost.worker_process). devhost's worker processes apply
both, so an app gets locally the concurrency it gets in Azure, and report how long the oldest
piece of work has waited (one of the load readings behind its HTTP throttle). Without worker
processes, activities run on a thread pool of maxConcurrentActivityFunctions threads and
episodes one at a time on devhost's event loop.
"""

from __future__ import annotations

import asyncio
import time


class WorkLimit:
    """At most ``limit`` holders at once (``async with limit:``); waiters go in order."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a work limit must be at least 1")
        self._limit = limit
        self._running = 0
        # Waiters' futures, oldest first (a dict keeps the order), with when each began to wait.
        self._waiting: dict[asyncio.Future[None], float] = {}

    @property
    def running(self) -> int:
        return self._running

    def oldest_wait(self) -> float:
        """Seconds the longest-waiting holder has waited (0 when none waits)."""
        oldest = next(iter(self._waiting.values()), None)
        return 0.0 if oldest is None else time.monotonic() - oldest

    async def __aenter__(self) -> None:
        if not self._waiting and self._running < self._limit:
            self._running += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting[turn] = time.monotonic()
        try:
            await turn  # the slot comes with the turn: _release counted it already
        except asyncio.CancelledError:
            self._waiting.pop(turn, None)
            if turn.done() and not turn.cancelled():
                self._release()  # given the slot just as it was cancelled
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        self._running -= 1
        while self._waiting and self._running < self._limit:
            turn = next(iter(self._waiting))
            del self._waiting[turn]
            self._running += 1
            turn.set_result(None)
