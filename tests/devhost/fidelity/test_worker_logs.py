"""The app's log records in devhost's worker processes reach the host, as the Python worker's do.

The Functions Python worker sets its root logger to INFO, or DEBUG with
PYTHON_ENABLE_DEBUG_LOGGING, and sends each record to the host (azure-functions-python-worker
4.34.0, azure_functions_worker/dispatcher.py: ``root_logger.setLevel(log_level)`` with its
AsyncLoggingHandler). Before, a devhost worker left Python's default WARNING in place, so an
activity's or orchestrator's INFO records were lost whenever devhost ran worker processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.process import DevHostProcess
from devhost.workers import WorkerPool
from tests.polling import eventually

APP = Path(__file__).parents[1] / "apps" / "worker_logs"


def _run_pack(
    caplog: pytest.LogCaptureFixture, level: int, logger: str = "shop"
) -> list[logging.LogRecord]:
    """Run the pack activity in a worker process; the records the host logged under ``logger``."""

    async def scenario() -> None:
        pool = WorkerPool(1, APP / "function_app.py")
        await pool.start()
        try:
            outcome = await pool.run("pack", None, json.dumps("parcel-7"))
        finally:
            pool.close()
        assert not outcome.failed

    with caplog.at_level(level, logger=logger):
        asyncio.run(scenario())
    return [record for record in caplog.records if record.name.startswith(logger)]


def test_an_activity_logs_at_info_through_the_host(caplog: pytest.LogCaptureFixture) -> None:
    records = _run_pack(caplog, logging.DEBUG)
    assert [(r.name, r.levelname, r.getMessage().splitlines()[0]) for r in records] == [
        ("shop.packing", "INFO", "packed parcel-7"),
        ("shop.packing", "ERROR", "handled with care"),
    ]  # no DEBUG: the worker's level is INFO


def test_the_azure_sdks_info_records_are_not_quieted(caplog: pytest.LogCaptureFixture) -> None:
    """The Python worker leaves the Azure SDKs' loggers at its root level, so their per-request
    INFO traces reach Application Insights unless the app quiets them (a common surprise: see
    azure-sdk-for-python's HttpLoggingPolicy, which logs at INFO). devhost's workers quieted
    the ``azure`` loggers, hiding from local runs log volume that Azure would show and bill."""
    sdk_logger = "azure.core.pipeline.policies.http_logging_policy"
    records = _run_pack(caplog, logging.INFO, logger=sdk_logger)
    assert [(r.name, r.getMessage()) for r in records] == [(sdk_logger, "Request URL: x")]


def test_a_logged_exception_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    [error] = [r for r in _run_pack(caplog, logging.INFO) if r.levelname == "ERROR"]
    assert "Traceback (most recent call last)" in error.getMessage()
    assert "ValueError: parcel-7 is fragile" in error.getMessage()


def test_debug_logging_lets_debug_records_through(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_ENABLE_DEBUG_LOGGING", "1")  # the spawned worker inherits it
    records = _run_pack(caplog, logging.DEBUG)
    assert ("DEBUG", "box size for parcel-7: medium") in [
        (r.levelname, r.getMessage()) for r in records
    ]


@pytest.fixture
def devhost_with_a_worker(tmp_path: Path) -> Iterator[tuple[DevHostProcess, Path]]:
    log = tmp_path / "devhost.log"
    extra = ["--worker-processes", "1"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_ENABLE_DEBUG_LOGGING"}
    with DevHostProcess(APP, None, "WorkerLogs", env=env, log_path=log, extra_args=extra) as host:
        yield host, log


def test_devhost_shows_an_orchestrators_and_an_activitys_records_once(
    devhost_with_a_worker: tuple[DevHostProcess, Path],
) -> None:
    """Started as a user starts it: the orchestrator's record (made when not replaying) and the
    activity's appear in devhost's output, each once."""
    host, log = devhost_with_a_worker
    request = urllib.request.Request(f"{host.base_url}/api/start", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        instance_id = response.read().decode()
    url = f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance_id}"

    def completed() -> bool:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return bool(json.loads(answer.read())["runtimeStatus"] == "Completed")

    eventually(completed, timeout=20, what="the orchestration completing")
    lines = log.read_text().splitlines()
    assert sum("packing order parcel-7" in line for line in lines) == 1
    assert sum("packed parcel-7" in line for line in lines) == 1


def test_invocations_running_at_once_each_keep_their_own_records() -> None:
    """A worker runs invocations side by side (threads, and tasks on its loop): each answer
    carries the records its own invocation made, none of another's."""
    from concurrent.futures import ThreadPoolExecutor

    from devhost.worker_logs import InvocationLogs

    handler = InvocationLogs()
    logger = logging.getLogger("shop.side-by-side")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def invocation(name: str) -> list[str]:
        with handler.collecting() as records:
            for step in range(50):
                logger.info("%s %d", name, step)
        return [message for _, _, _, message in records]

    async def task(name: str) -> list[str]:
        with handler.collecting() as records:
            for step in range(50):
                logger.info("%s %d", name, step)
                await asyncio.sleep(0)
        return [message for _, _, _, message in records]

    async def on_a_loop() -> list[list[str]]:
        return list(await asyncio.gather(task("t1"), task("t2")))

    try:
        with ThreadPoolExecutor(4) as pool:
            threaded = list(pool.map(invocation, ["a", "b", "c", "d"]))
        awaited = asyncio.run(on_a_loop())
    finally:
        logger.removeHandler(handler)
    for name, messages in zip(["a", "b", "c", "d", "t1", "t2"], threaded + awaited, strict=True):
        assert messages == [f"{name} {step}" for step in range(50)]
