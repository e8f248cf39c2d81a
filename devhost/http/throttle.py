"""host.json's HTTP throttles: 429 "Too Busy" for requests past maxOutstandingRequests, a cap of
maxConcurrentRequests running at once, and, with dynamicThrottlesEnabled, every request while
the host is under high load.

As the Functions host does (azure-functions-host, src/WebJobs.Script.WebHost/Middleware/
HttpThrottleMiddleware.cs and HttpRequestQueue.cs, registered for every request but /admin ones
in WebJobsApplicationBuilderExtension.cs): the load check runs at most once per interval and
its verdict holds until the next one; a rejected request gets status 429, an empty body and the
header ``X-FUNCTION-SCALEOUT: 1``; outstanding requests count those waiting for a concurrency
slot as well as those running. The durable client's local RPC endpoint is outside this
pipeline on the Functions host (the extension's own listener), so devhost does not throttle it.

The Functions host decides "high load" from its sandbox's counters (connections, threads,
processes and the like, at 80% of their limits; no CPU since azure-functions-host#6986) every
15 seconds. devhost's counters are its own: how long
the oldest piece of work (an activity or an orchestrator episode) has waited to run, and
how late its event loop runs, each against one second, looked at every second, so a burst is
met within a second or two rather than fifteen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from devhost.config import ThrottleSettings

log = logging.getLogger("devhost")

SCALE_OUT_HEADER = "X-FUNCTION-SCALEOUT"
HIGH_LOAD_SECONDS = 1.0
CHECK_INTERVAL_SECONDS = 1.0
_TICK_SECONDS = 0.25

Handler = Callable[[], Awaitable[web.StreamResponse]]


class LoadMonitor:
    """devhost's high-load counters: the oldest wait to run (``queue_delay``, seconds) and
    the event loop's lateness, sampled by a ticker while it runs."""

    def __init__(self, queue_delay: Callable[[], float]) -> None:
        self._queue_delay = queue_delay
        self._loop_lag = 0.0
        self._ticker: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def exceeded(self) -> list[str]:
        """The counters now above their threshold, each with its reading."""
        readings = {"workerQueueDelay": self._queue_delay(), "eventLoopLag": self._loop_lag}
        return [
            f"{name} ({seconds:.1f} s)"
            for name, seconds in readings.items()
            if seconds > HIGH_LOAD_SECONDS
        ]

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + _TICK_SECONDS
            await asyncio.sleep(_TICK_SECONDS)
            self._loop_lag = max(0.0, loop.time() - due)


class HttpThrottle:
    """Admits or rejects each request (see the module docstring)."""

    def __init__(
        self,
        settings: ThrottleSettings,
        high_load: Callable[[], list[str]],
        interval: float = CHECK_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._high_load = high_load
        self._interval = interval
        self._clock = clock
        self._last_check: float | None = None
        self._rejecting = False
        self._outstanding = 0
        limit = settings.max_concurrent_requests
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None

    async def admit(self, handler: Handler) -> web.StreamResponse:
        if self.settings.dynamic_throttles_enabled and self._under_high_load():
            return self._reject()
        limit = self.settings.max_outstanding_requests
        if limit > 0 and self._outstanding >= limit:
            log.info("Http request queue limit of %d has been exceeded.", limit)
            return self._reject()
        self._outstanding += 1
        try:
            if self._slots is None:
                return await handler()
            async with self._slots:
                return await handler()
        finally:
            self._outstanding -= 1

    def _under_high_load(self) -> bool:
        now = self._clock()
        if self._last_check is None or now - self._last_check > self._interval:
            exceeded = self._high_load()
            self._last_check = now
            if exceeded and not self._rejecting:
                log.warning(
                    "Thresholds for the following counters have been exceeded: [%s]",
                    ", ".join(exceeded),
                )
            elif self._rejecting and not exceeded:
                log.info("devhost: load back under the thresholds; accepting requests again")
            self._rejecting = bool(exceeded)
        return self._rejecting

    def _reject(self) -> web.Response:
        return web.Response(status=429, headers={SCALE_OUT_HEADER: "1"})
