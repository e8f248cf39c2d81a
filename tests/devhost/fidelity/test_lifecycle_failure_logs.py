"""A failed invocation is logged with its exception's type and message: activities (on threads
and in worker processes), HTTP functions and timer functions.

Follows the Functions host's failed-invocation log (azure-functions-host v4.1037,
src/WebJobs.Script/Description/Workers/WorkerFunctionInvoker.cs with the worker's
``Result: Failure / Exception: <type>: <message>`` answer built in
azure_functions_worker/dispatcher.py, azure-functions-python-worker 4.34.0).
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devhost.app_loader import load_app
from devhost.clock import VirtualClock, WallClock
from devhost.schedules import ScheduleRunner
from devhost.testing import DevHost
from devhost.workers import WorkerPool

APP = Path(__file__).parents[1] / "apps" / "fidelity_failures"


def test_a_failed_activity_logs_its_exception(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="devhost"), DevHost(APP) as host:
        host.wait_for(host.start("call_failing"))
    assert "Activity function 'failing_activity' failed:  LookupError: the warehouse is closed" in (
        caplog.text
    )


def test_a_failed_activity_in_a_worker_process_logs_its_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        pool = WorkerPool(1, APP / "function_app.py")
        await pool.start()
        try:
            outcome = await pool.run("failing_activity", None, json.dumps("x"))
        finally:
            pool.close()
        assert outcome.failed

    with caplog.at_level(logging.ERROR, logger="devhost"):
        asyncio.run(scenario())
    assert "failing_activity' failed:  LookupError: the warehouse is closed" in caplog.text


def test_a_failed_http_function_logs_its_exception(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="devhost"), DevHost(APP, clock=WallClock()) as host:
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(host.serve_http() + "/api/failing", timeout=10)
        answer.value.close()
        assert answer.value.code == 500
    [record] = [r for r in caplog.records if "failing_http" in r.getMessage()]
    assert "failing_http failed: PermissionError: the vault is locked" in record.getMessage()


def test_a_failed_timer_function_logs_its_exception(caplog: pytest.LogCaptureFixture) -> None:
    timers = [f for f in load_app(APP).timers if f.get_function_name() == "failing_timer"]

    async def scenario() -> None:
        runner = ScheduleRunner(timers, VirtualClock(), {})
        runner.start()  # the function runs on startup
        await runner.wait_idle()
        runner.stop()

    with caplog.at_level(logging.ERROR, logger="devhost"):
        asyncio.run(scenario())
    assert "failed: TimeoutError: the mainframe did not answer" in caplog.text
