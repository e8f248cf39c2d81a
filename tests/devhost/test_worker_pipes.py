"""WorkerPool: activities and episodes over pipes to worker processes, and lost workers replaced."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devhost.activities import ActivityOutcome
from devhost.episode import EpisodeResult, build_payload
from devhost.history import EventType, make_event
from devhost.worker_pipe import frame, unframe
from devhost.worker_process import sync_thread_count
from devhost.workers import WorkerPool
from tests.overlap import most_at_once

APP = """
import asyncio
import os
import threading
import time

import azure.durable_functions as df
import azure.functions as func

if os.environ.get("BREAK_APP"):
    raise RuntimeError("the app does not import")

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def echo(value):
    return {"pid": os.getpid(), "value": value}


@app.activity_trigger(input_name="value")
async def echo_async(value):
    return {"pid": os.getpid(), "value": value}


@app.activity_trigger(input_name="seconds")
def nap(seconds):
    began = time.monotonic()
    time.sleep(seconds)
    return [os.getpid(), threading.current_thread().name, began, time.monotonic()]


@app.activity_trigger(input_name="seconds")
async def nap_async(seconds):
    began = time.monotonic()
    await asyncio.sleep(seconds)
    return [os.getpid(), threading.current_thread().name, began, time.monotonic()]


@app.activity_trigger(input_name="value")
def refuse(value):
    raise ValueError(f"no {value}")


@app.activity_trigger(input_name="value")
def die(value):
    os._exit(3)


@app.orchestration_trigger(context_name="context")
def twice(context):
    first = yield context.call_activity("echo", context.get_input())
    return [first["value"], os.getpid()]


@app.orchestration_trigger(context_name="context")
def crash(context):
    os._exit(4)
    yield context.call_activity("echo", 1)
"""


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / "function_app.py"
    path.write_text(APP)
    return path


def run_all(app_file: Path, calls: list[tuple[str, object]]) -> list[ActivityOutcome]:
    async def scenario() -> list[ActivityOutcome]:
        runner = WorkerPool(1, app_file)
        await runner.start()
        try:
            return [await runner.run(name, None, json.dumps(value)) for name, value in calls]
        finally:
            runner.close()

    return asyncio.run(scenario())


def episodes(app_file: Path, calls: list[tuple[str, str]]) -> list[tuple[EpisodeResult, float]]:
    async def scenario() -> list[tuple[EpisodeResult, float]]:
        runner = WorkerPool(1, app_file)
        await runner.start()
        try:
            return [await runner.run_episode(name, None, payload) for name, payload in calls]
        finally:
            runner.close()

    return asyncio.run(scenario())


def started_event(now: datetime, name: str, input_text: str) -> dict[str, object]:
    return make_event(
        EventType.EXECUTION_STARTED, now, Name=name, Version="", Input=input_text,
        ParentInstance=None,
    )  # fmt: skip


def payload(history: list[dict[str, object]]) -> str:
    # The instance input as the host stores it: the SDK's JSON text, as a JSON string.
    return build_payload("i1", json.dumps(json.dumps("x")), None, json.dumps(history))


def result(outcome: ActivityOutcome) -> dict[str, object]:
    assert not outcome.failed, outcome.reason
    assert outcome.result is not None
    value: dict[str, object] = json.loads(outcome.result)
    return value


def test_sync_and_async_activities_run_in_the_worker_and_faults_come_back(
    app_file: Path,
) -> None:
    echoed, echoed_async, refused = run_all(
        app_file, [("echo", "a"), ("echo_async", "b"), ("refuse", "c")]
    )
    assert result(echoed)["value"] == "a"
    assert result(echoed_async) == {"pid": result(echoed)["pid"], "value": "b"}
    assert refused.failed
    assert refused.reason == "Activity function 'refuse' failed:  ValueError: no c"
    assert "raise ValueError" in refused.details and "devhost" not in refused.details


def test_the_warm_worker_takes_calls_until_it_runs_two_then_the_one_running_fewest(
    app_file: Path,
) -> None:
    """Calls one after another stay on one warm worker; of calls at once it takes two, and the
    rest go to the workers running fewest (devhost/workers.py: WARM_CALLS)."""

    async def scenario() -> tuple[list[object], list[object]]:
        runner = WorkerPool(3, app_file)
        await runner.start()
        try:
            one_by_one = [await runner.run("echo", None, json.dumps(i)) for i in range(5)]
            at_once = await asyncio.gather(
                *(runner.run("echo", None, json.dumps(i)) for i in range(6))
            )
        finally:
            runner.close()
        return [result(o)["pid"] for o in one_by_one], [result(o)["pid"] for o in at_once]

    sequential, concurrent = asyncio.run(scenario())
    (warm,) = set(sequential)
    assert concurrent[:2] == [warm, warm]
    assert sorted(concurrent.count(pid) for pid in set(concurrent)) == [2, 2, 2]


def test_a_worker_that_dies_fails_its_call_and_is_replaced(app_file: Path) -> None:
    before, lost, after = run_all(app_file, [("echo", 1), ("die", None), ("echo", 2)])
    assert lost.failed and "worker process lost" in lost.reason
    assert result(after)["value"] == 2
    assert result(after)["pid"] != result(before)["pid"]


def test_orchestrator_episodes_run_in_the_worker(app_file: Path) -> None:
    """The first episode schedules the activity; with its completion the orchestrator returns."""
    now = datetime(2026, 11, 25, tzinfo=UTC)
    started = make_event(EventType.ORCHESTRATOR_STARTED, now)
    execution = started_event(now, "twice", json.dumps("x"))
    completed = make_event(
        EventType.TASK_COMPLETED, now, TaskScheduledId=0, Result=json.dumps({"value": "x"})
    )
    (first, cpu), (second, _) = episodes(
        app_file,
        [("twice", payload([started, execution])),
         ("twice", payload([started, execution, started, completed]))],
    )  # fmt: skip
    assert first.error is None and not first.is_done
    assert [action["functionName"] for action in first.actions] == ["echo"]
    assert cpu > 0
    assert second.is_done and second.output[0] == "x"
    assert second.output[1] != os.getpid()


def test_an_orchestrator_that_kills_its_worker_fails_after_a_few_tries(app_file: Path) -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    history = [
        make_event(EventType.ORCHESTRATOR_STARTED, now),
        started_event(now, "crash", "null"),
    ]
    [(result, _)] = episodes(app_file, [("crash", payload(history))])
    assert result.error is not None and "worker processes lost" in result.error


def test_an_unknown_function_is_a_clear_failure_and_the_worker_lives_on(app_file: Path) -> None:
    missing, echoed = run_all(app_file, [("nothing", 1), ("echo", 2)])
    assert missing.failed and "nothing" in missing.reason
    assert result(echoed)["value"] == 2


@pytest.mark.parametrize("body", [None, "", '{"a": "line\\nbreak"}', "naïve\n\nraw"])
def test_a_pipe_message_carries_its_header_and_raw_body(body: str | None) -> None:
    head = ["orchestrator", "name with\nnewline"]
    assert unframe(frame(head, body)) == (head, body)


def test_a_worker_that_cannot_start_is_retried_while_calls_wait(
    app_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> tuple[ActivityOutcome, ActivityOutcome]:
        pool = WorkerPool(1, app_file)
        pool.restart_delay_seconds = 0.2
        await pool.start()
        try:
            monkeypatch.setenv("BREAK_APP", "1")  # replacements inherit it and fail to import
            lost = await pool.run("die", None, "null")
            waiting = asyncio.ensure_future(pool.run("echo", None, json.dumps("back")))
            await asyncio.sleep(2)
            assert not waiting.done()
            monkeypatch.delenv("BREAK_APP")
            return lost, await asyncio.wait_for(waiting, 60)
        finally:
            pool.close()

    lost, back = asyncio.run(scenario())
    assert lost.failed
    assert result(back)["value"] == "back"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_message_larger_than_the_pipe_buffer_crosses_whole(app_file: Path, loop: str) -> None:
    """A 1 MB input and a 1 MB answer (a 100-line order's episode can pass the pipe's 64 KB):
    under uvloop, whose add_reader makes the pipe non-blocking (libuv's uv_poll_init), a send
    or a read that needs several system calls must not be taken for a lost worker."""
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        runner_loop = uvloop.new_event_loop
    else:
        runner_loop = asyncio.new_event_loop
    big = "x" * 1_000_000

    async def scenario() -> list[ActivityOutcome]:
        runner = WorkerPool(1, app_file)
        await runner.start()
        try:
            return [await runner.run("echo", None, json.dumps(big)) for _ in range(3)]
        finally:
            runner.close()

    with asyncio.Runner(loop_factory=runner_loop) as runner:
        outcomes = runner.run(scenario())
    assert [result(outcome)["value"] for outcome in outcomes] == [big] * 3


def test_the_oldest_wait_for_a_worker_is_the_first_still_waiting(app_file: Path) -> None:
    """No worker is idle (none started): calls wait; the oldest wait is the first call's, and
    once that call is gone, the next one's."""

    async def scenario() -> list[float]:
        pool = WorkerPool(1, app_file)
        first = asyncio.create_task(pool.run("echo", None, "1"))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(pool.run("echo", None, "2"))
        await asyncio.sleep(0.05)
        waits = [pool.oldest_wait()]
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        waits.append(pool.oldest_wait())
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        waits.append(pool.oldest_wait())
        pool.close()
        return waits

    by_first, by_second, none = asyncio.run(scenario())
    assert by_first >= 0.25
    assert 0.05 <= by_second < by_first
    assert none == 0.0


def at_once(app_file: Path, processes: int, calls: list[tuple[str, object]]) -> list[object]:
    async def scenario() -> list[ActivityOutcome]:
        pool = WorkerPool(processes, app_file)
        await pool.start()
        try:
            return await asyncio.gather(
                *(pool.run(name, None, json.dumps(value)) for name, value in calls)
            )
        finally:
            pool.close()

    return [result_value(outcome) for outcome in asyncio.run(scenario())]


def result_value(outcome: ActivityOutcome) -> object:
    assert not outcome.failed, outcome.reason
    assert outcome.result is not None
    return json.loads(outcome.result)


def spans_at_once(spans: list[object]) -> int:
    """The most of these [pid, thread, began, ended] spans that overlapped."""
    return most_at_once((began, ended) for _, _, began, ended in spans)  # type: ignore[misc]


def test_a_worker_runs_as_many_sync_calls_at_once_as_its_thread_pool_has_threads(
    app_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PYTHON_THREADPOOL_THREAD_COUNT=2: of four 0.4-s sync activities sent at once to one
    worker, two run side by side on two threads and the others wait for them, as in the Python
    worker (azure_functions_worker/dispatcher.py runs sync functions on its _sync_call_tp)."""
    monkeypatch.setenv("PYTHON_THREADPOOL_THREAD_COUNT", "2")
    spans = at_once(app_file, 1, [("nap", 0.4)] * 4)
    assert spans_at_once(spans) == 2
    assert len({thread for _, thread, _, _ in spans}) == 2  # type: ignore[misc]
    assert len({pid for pid, _, _, _ in spans}) == 1  # type: ignore[misc]


def test_async_activities_run_side_by_side_on_the_workers_event_loop(
    app_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one thread, three async activities still run at once, on one event loop's thread
    beside the sync one, as the Python worker awaits async functions on its loop."""
    monkeypatch.setenv("PYTHON_THREADPOOL_THREAD_COUNT", "1")
    spans = at_once(app_file, 1, [("nap_async", 0.4)] * 3 + [("nap", 0.4)])
    assert spans_at_once(spans) == 4
    threads = [thread for _, thread, _, _ in spans]  # type: ignore[misc]
    assert len(set(threads[:3])) == 1 and threads[3] not in threads[:3]


def test_calls_at_once_go_first_to_the_workers_running_fewest(
    app_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes of four threads: four calls at once run two in each process, not four in
    one (threads in one process share its interpreter lock, so the warm worker takes only
    WARM_CALLS before the others)."""
    monkeypatch.setenv("PYTHON_THREADPOOL_THREAD_COUNT", "4")
    spans = at_once(app_file, 2, [("nap", 0.4)] * 4)
    pids = [pid for pid, _, _, _ in spans]  # type: ignore[misc]
    assert sorted(pids.count(pid) for pid in set(pids)) == [2, 2]


@pytest.mark.parametrize(
    ("setting", "threads", "warning"),
    [
        (None, None, None),
        ("3", 3, None),
        ("64", 64, None),
        ("0", None, "must be set to a value between 1 and sys.maxint"),
        ("many", None, "must be an integer"),
        ("", None, "must be an integer"),
    ],
)
def test_the_sync_thread_count_is_the_python_workers(
    setting: str | None, threads: int | None, warning: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """As _get_sync_tp_max_workers in azure_functions_worker/dispatcher.py: the setting when it
    is a whole number >= 1, else a warning and, on Python 3.9+, ThreadPoolExecutor's default."""
    environ = {} if setting is None else {"PYTHON_THREADPOOL_THREAD_COUNT": setting}
    default = min(32, (os.cpu_count() or 1) + 4)
    assert sync_thread_count(environ) == (threads or default)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warning in warnings[0]


def test_a_worker_that_dies_fails_every_call_it_was_running_and_is_replaced_once(
    app_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two naps share a worker's threads with a call that kills the process: all three fail as
    a lost worker (activities are retried like any other technical fault), one replacement
    starts, and it runs the next call."""
    monkeypatch.setenv("PYTHON_THREADPOOL_THREAD_COUNT", "3")

    async def scenario() -> tuple[list[ActivityOutcome], ActivityOutcome, int]:
        pool = WorkerPool(1, app_file)
        await pool.start()
        try:
            naps = [asyncio.ensure_future(pool.run("nap", None, "5")) for _ in range(2)]
            await asyncio.sleep(0.3)
            lost = await asyncio.gather(pool.run("die", None, "null"), *naps)
            after = await asyncio.wait_for(pool.run("echo", None, json.dumps("next")), 60)
            return list(lost), after, len(pool._workers)
        finally:
            pool.close()

    with caplog.at_level(logging.WARNING, logger="devhost"):
        lost, after, workers = asyncio.run(scenario())
    assert all(o.failed and "worker process lost" in o.reason for o in lost), lost
    assert result(after)["value"] == "next"
    assert workers == 1
    assert len([r for r in caplog.records if "starting another" in r.getMessage()]) == 1
