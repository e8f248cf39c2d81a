"""Runs timer-trigger functions on their schedules, never two invocations of one at once."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.functions import meta
from azure.functions.timer import TimerRequestConverter

from devhost.clock import Clock, TimerHandle
from devhost.invocation import ClientBinding, Parameters, client_ready
from devhost.ncrontab import IntervalSchedule, Schedule, parse_schedule

log = logging.getLogger("devhost")

# What the host reports as ScheduleStatus.Last before a timer has ever run (DateTime.MinValue).
_NEVER = "0001-01-01T00:00:00"
_MINUTE = timedelta(minutes=1)


@dataclass
class _Timer:
    name: str
    function: Any
    schedule: Schedule
    run_on_startup: bool
    use_monitor: bool
    handle: TimerHandle | None = None
    running: asyncio.Task[None] | None = None
    last: datetime | None = None
    next: datetime | None = None


class ScheduleRunner:
    """Fires each timer function at its schedule's occurrences on the given clock.

    Like the host's singleton lock, a function never runs twice at once: an occurrence that
    comes due while the previous invocation is still running is skipped (and logged).
    ``client`` is the durable client binding for functions that declare a durable client input.
    """

    def __init__(
        self,
        timers: list[Any],
        clock: Clock,
        environ: Any = os.environ,
        client: ClientBinding | None = None,
    ) -> None:
        self._clock = clock
        self._client = client
        now = clock.now()
        self._timers = [_timer_of(function, environ, now) for function in timers]
        self._pool: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    def start(self) -> None:
        """Arm every function's first occurrence; call on the event loop."""
        self._loop = asyncio.get_running_loop()
        self._stopped = False
        # One worker per function is enough: a function never has two invocations at once.
        self._pool = ThreadPoolExecutor(len(self._timers) or 1, thread_name_prefix="timer")
        now = self._clock.now()
        for timer in self._timers:
            first = timer.schedule.next_occurrence(now)
            log.info(
                "timer %s: schedule '%s', next at %s",
                timer.name,
                timer.schedule.expression,
                first.isoformat(),
            )
            self._arm(timer, first)
            if timer.run_on_startup:
                self._fire(timer, now, startup=True)

    def stop(self) -> None:
        """Cancel every armed occurrence; invocations already running finish on their own."""
        self._stopped = True
        for timer in self._timers:
            if timer.handle is not None:
                timer.handle.cancel()
                timer.handle = None
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    @property
    def busy(self) -> bool:
        """Whether any invocation is still running."""
        return any(t.running is not None and not t.running.done() for t in self._timers)

    async def wait_idle(self) -> None:
        """Wait until no invocation is running."""
        while running := [t.running for t in self._timers if t.running and not t.running.done()]:
            await asyncio.wait(running)

    def _arm(self, timer: _Timer, when: datetime) -> None:
        timer.next = when
        timer.handle = self._clock.call_at(
            when, lambda: self._fire(timer, when, startup=False), schedule=True
        )

    def _fire(self, timer: _Timer, scheduled: datetime, *, startup: bool) -> None:
        if self._stopped or self._loop is None or self._pool is None:
            return
        if not startup:
            # The next occurrence counts from this one's scheduled time, so a late or
            # skipped run never shifts the schedule.
            self._arm(timer, timer.schedule.next_occurrence(scheduled))
        if timer.running is not None and not timer.running.done():
            log.warning(
                "timer %s: occurrence at %s skipped; the previous invocation is still running",
                timer.name,
                scheduled.isoformat(),
            )
            return
        timer.running = self._loop.create_task(self._invoke(timer, scheduled, startup, self._pool))

    async def _invoke(
        self, timer: _Timer, scheduled: datetime, startup: bool, pool: ThreadPoolExecutor
    ) -> None:
        argument = TimerRequestConverter.decode(
            meta.Datum(type="json", value=json.dumps(self._timer_info(timer, scheduled, startup))),
            trigger_metadata=None,
        )
        timer.last = scheduled
        user_function = timer.function.get_user_function()
        began = time.perf_counter()
        outcome = "succeeded"
        error: BaseException | None = None
        try:
            await client_ready(timer.function, self._client)
            arguments = Parameters.of(timer.function).arguments(argument, self._client)
            if inspect.iscoroutinefunction(user_function):
                await user_function(**arguments)
            else:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(pool, functools.partial(user_function, **arguments))
        except Exception as caught:  # a failing run is logged; the schedule carries on
            error = caught
            outcome = f"failed: {type(caught).__name__}: {caught}"
        log.log(
            logging.ERROR if error else logging.INFO,
            "timer %s%s: %s in %.1f ms",
            timer.name,
            " [run on startup]" if startup else "",
            outcome,
            (time.perf_counter() - began) * 1000,
            exc_info=error,
        )

    def _timer_info(self, timer: _Timer, scheduled: datetime, startup: bool) -> dict[str, Any]:
        """The TimerInfo JSON the host sends the worker (ScheduleStatus only when monitored)."""
        status = None
        if timer.use_monitor:
            last = timer.last.isoformat() if timer.last else _NEVER
            upcoming = timer.next if startup and timer.next else scheduled
            status = {"Last": last, "Next": upcoming.isoformat(), "LastUpdated": last}
        return {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": False}


def _timer_of(function: Any, environ: Any, now: datetime) -> _Timer:
    trigger = function.get_trigger()
    name = str(function.get_function_name())
    try:
        schedule = parse_schedule(_resolve_settings(trigger.schedule, environ))
    except ValueError as error:
        raise ValueError(f"timer function '{name}': {error}") from None
    return _Timer(
        name=name,
        function=function,
        schedule=schedule,
        run_on_startup=bool(trigger.run_on_startup),
        use_monitor=_monitored(schedule, trigger.use_monitor, now),
    )


def _resolve_settings(expression: str, environ: Any) -> str:
    """Replace %Setting% references with app settings, as the host's name resolver does."""

    def lookup(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in environ:
            raise ValueError(f"schedule '{expression}' refers to app setting '{key}', not set")
        return str(environ[key])

    return re.sub(r"%([^%]+)%", lookup, expression)


def _monitored(schedule: Schedule, use_monitor: bool | None, now: datetime) -> bool:
    """The host never monitors a schedule that fires more than once a minute."""
    if isinstance(schedule, IntervalSchedule):
        frequent = schedule.interval < _MINUTE
    else:
        frequent = schedule.next_occurrence(schedule.next_occurrence(now)) < now + _MINUTE
    if frequent:
        return False
    return True if use_monitor is None else use_monitor
