"""ScheduleRunner fires the fixture app's timer functions as virtual time passes."""

import asyncio
import inspect
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from devhost.app_loader import load_app
from devhost.clock import VirtualClock
from devhost.schedules import ScheduleRunner

APP = Path(__file__).parent / "apps" / "timers"
START = "2030-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def timers() -> Iterator[list[Any]]:
    path, modules = list(sys.path), set(sys.modules)
    yield load_app(APP).timers
    # load_app leaves the fixture importable as `function_app` (its folder first on sys.path);
    # undo that so later tests importing the project's own function_app.py get that one.
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if Path(getattr(sys.modules[name], "__file__", "") or "").parent == APP:
            del sys.modules[name]


def functions(timers: list[Any], *names: str) -> list[Any]:
    chosen = [f for f in timers if f.get_function_name() in names]
    assert len(chosen) == len(names)
    return chosen


@pytest.fixture(autouse=True)
def app(timers: list[Any]) -> Iterator[ModuleType]:
    module = inspect.getmodule(timers[0].get_user_function())
    assert module is not None
    module.calls.clear()
    module.gate.clear()
    yield module
    module.gate.set()  # never leave a pool thread blocked


def run(
    timers: list[Any],
    names: tuple[str, ...],
    steps: Callable[[ScheduleRunner, VirtualClock], Awaitable[None]],
    environ: dict[str, str] | None = None,
) -> None:
    """Start a runner for the named functions on a fresh loop and virtual clock, run the steps."""

    async def scenario() -> None:
        clock = VirtualClock()
        runner = ScheduleRunner(functions(timers, *names), clock, environ or {})
        runner.start()
        try:
            await steps(runner, clock)
        finally:
            runner.stop()
            await runner.wait_idle()

    asyncio.run(scenario())


async def advance(runner: ScheduleRunner, clock: VirtualClock, seconds: float) -> None:
    clock.advance(seconds)
    await runner.wait_idle()


def scheduled(app: ModuleType, name: str) -> list[str]:
    return [call.scheduled for call in app.calls if call.name == name]


def test_fires_at_each_occurrence_as_time_advances(timers: list[Any], app: ModuleType) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        await advance(runner, clock, 299)
        assert app.calls == []
        for _ in range(3):
            await advance(runner, clock, 300)

    run(timers, ("every_five_minutes",), steps)
    assert scheduled(app, "every_five_minutes") == [
        "2030-01-01T00:05:00+00:00",
        "2030-01-01T00:10:00+00:00",
        "2030-01-01T00:15:00+00:00",
    ]


def test_the_function_gets_the_timer_request_the_worker_builds(
    timers: list[Any], app: ModuleType
) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        await advance(runner, clock, 600)
        await advance(runner, clock, 300)

    run(timers, ("every_five_minutes",), steps)
    first, second = (call.timer for call in app.calls)
    assert isinstance(first, TimerRequest)  # the worker's concrete class, as the worker passes
    assert first.past_due is False
    assert first.schedule == {"AdjustForDST": True}
    assert first.schedule_status == {
        "Last": "0001-01-01T00:00:00",
        "Next": "2030-01-01T00:05:00+00:00",
        "LastUpdated": "0001-01-01T00:00:00",
    }
    assert second.schedule_status["Last"] == "2030-01-01T00:05:00+00:00"


def test_a_jump_over_several_occurrences_fires_the_first_and_skips_the_rest(
    timers: list[Any], app: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    """The first invocation has not run yet when the later occurrences come due."""

    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        await advance(runner, clock, 900)
        await advance(runner, clock, 300)

    with caplog.at_level(logging.INFO, logger="devhost"):
        run(timers, ("every_five_minutes",), steps)
    assert scheduled(app, "every_five_minutes") == [
        "2030-01-01T00:05:00+00:00",
        "2030-01-01T00:20:00+00:00",
    ]
    assert sum("skipped" in r.message for r in caplog.records) == 2


def test_schedules_once_a_minute_or_more_get_no_schedule_status(
    timers: list[Any], app: ModuleType
) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        for _ in range(3):
            await advance(runner, clock, 10)

    run(timers, ("every_ten_seconds",), steps)
    assert [call.timer.schedule_status for call in app.calls] == [{}, {}, {}]


def test_run_on_startup_fires_once_then_follows_the_schedule(
    timers: list[Any], app: ModuleType
) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        await runner.wait_idle()
        assert len(app.calls) == 1
        await advance(runner, clock, 1800)
        assert len(app.calls) == 1
        await advance(runner, clock, 1800)
        await advance(runner, clock, 3600)

    run(timers, ("hourly_and_on_startup",), steps)
    statuses = [call.timer.schedule_status for call in app.calls]
    assert statuses == [
        {"Last": "0001-01-01T00:00:00", "Next": "2030-01-01T01:00:00+00:00",
         "LastUpdated": "0001-01-01T00:00:00"},
        {"Last": START, "Next": "2030-01-01T01:00:00+00:00", "LastUpdated": START},
        {"Last": "2030-01-01T01:00:00+00:00", "Next": "2030-01-01T02:00:00+00:00",
         "LastUpdated": "2030-01-01T01:00:00+00:00"},
    ]  # fmt: skip


def test_a_raising_function_is_logged_and_keeps_its_schedule(
    timers: list[Any], app: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        for _ in range(3):
            await advance(runner, clock, 300)

    with caplog.at_level(logging.INFO, logger="devhost"):
        run(timers, ("always_fails",), steps)
    assert len(scheduled(app, "always_fails")) == 3
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 3
    message = failures[0].getMessage()
    assert message.startswith("timer always_fails: failed: ValueError: downstream service ")
    assert failures[0].exc_info is not None


def test_each_invocation_logs_one_line_with_name_outcome_and_duration(
    timers: list[Any], app: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        await advance(runner, clock, 300)

    with caplog.at_level(logging.INFO, logger="devhost"):
        run(timers, ("every_five_minutes",), steps)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("timer ")]
    assert lines[0] == (
        "timer every_five_minutes: schedule '0 */5 * * * *', next at 2030-01-01T00:05:00+00:00"
    )
    assert len(lines) == 2
    assert lines[1].startswith("timer every_five_minutes: succeeded in ")
    assert lines[1].endswith(" ms")


def test_an_occurrence_due_while_the_previous_run_is_busy_is_skipped(
    timers: list[Any], app: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        clock.advance(60)
        await wait_until(lambda: len(app.calls) == 1)
        clock.advance(60)  # 00:02 comes due while the 00:01 run is blocked
        assert runner.busy
        app.gate.set()
        await runner.wait_idle()
        await advance(runner, clock, 60)

    with caplog.at_level(logging.INFO, logger="devhost"):
        run(timers, ("slow_sync",), steps)
    assert scheduled(app, "slow_sync") == [
        "2030-01-01T00:01:00+00:00",
        "2030-01-01T00:03:00+00:00",
    ]
    skips = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert skips == [
        "timer slow_sync: occurrence at 2030-01-01T00:02:00+00:00 skipped; "
        "the previous invocation is still running"
    ]


def test_an_async_run_still_awaiting_also_blocks_its_next_occurrence(
    timers: list[Any], app: ModuleType
) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        clock.advance(60)
        await wait_until(lambda: len(app.calls) == 1)
        clock.advance(120)
        app.gate.set()
        await runner.wait_idle()
        await advance(runner, clock, 60)

    run(timers, ("slow_async",), steps)
    assert scheduled(app, "slow_async") == [
        "2030-01-01T00:01:00+00:00",
        "2030-01-01T00:04:00+00:00",
    ]


def test_sync_functions_run_on_the_pool_and_async_ones_on_the_loop(
    timers: list[Any], app: ModuleType
) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        await advance(runner, clock, 300)
        await advance(runner, clock, 300)

    run(timers, ("every_five_minutes", "async_every_ten_minutes"), steps)
    threads = {call.name: call.thread for call in app.calls}
    assert threads["async_every_ten_minutes"] == threading.current_thread().name
    assert threads["every_five_minutes"].startswith("timer")


def test_timespan_schedules_run_every_interval(timers: list[Any], app: ModuleType) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        for _ in range(2):
            await advance(runner, clock, 1200)

    run(timers, ("every_twenty_minutes_timespan",), steps)
    assert scheduled(app, "every_twenty_minutes_timespan") == [
        "2030-01-01T00:20:00+00:00",
        "2030-01-01T00:40:00+00:00",
    ]


def test_a_schedule_can_come_from_an_app_setting(timers: list[Any], app: ModuleType) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        await advance(runner, clock, 3600)

    run(timers, ("from_app_setting",), steps, environ={"TIMER_SCHEDULE": "0 0 * * * *"})
    assert scheduled(app, "from_app_setting") == ["2030-01-01T01:00:00+00:00"]


def test_a_bad_or_missing_schedule_fails_naming_the_function(timers: list[Any]) -> None:
    clock = VirtualClock()
    with pytest.raises(
        ValueError,
        match=r"timer function 'from_app_setting': .* app setting 'TIMER_SCHEDULE', not set",
    ):
        ScheduleRunner(functions(timers, "from_app_setting"), clock, {})
    with pytest.raises(
        ValueError, match=r"timer function 'from_app_setting': .*: hour field '25' is invalid"
    ):
        ScheduleRunner(
            functions(timers, "from_app_setting"), clock, {"TIMER_SCHEDULE": "0 0 25 * * *"}
        )


def test_stop_cancels_the_armed_occurrences(timers: list[Any], app: ModuleType) -> None:
    async def steps(runner: ScheduleRunner, clock: VirtualClock) -> None:
        runner.stop()
        assert clock.next_due() is None
        await advance(runner, clock, 3600)

    run(timers, ("every_five_minutes",), steps)
    assert app.calls == []


async def wait_until(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Let the loop (and the pool thread) run until the condition holds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)
