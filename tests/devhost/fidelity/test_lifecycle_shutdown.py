"""Ctrl-C (SIGINT to the process group) or SIGTERM stops `python -m devhost` within 2 s while
activities run for 30 s, on threads or in worker processes, with no worker restarts logged.

Follows the Functions host's shutdown of its language workers (azure-functions-host v4.1037,
src/WebJobs.Script/Workers/ProcessManagement/WorkerProcess.cs: the worker process is killed when
the host stops, whatever it is running) and DurableTask's at-least-once delivery: an activity cut
short by the shutdown is not failed but runs again after a restart.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from devhost.process import DevHostProcess
from tests.devhost.conftest import alive

APP = Path(__file__).parents[1] / "apps" / "fidelity_lifecycle"
START = "/runtime/webhooks/durabletask/orchestrators/slow"
STOP_BUDGET_SECONDS = 2.0


@pytest.mark.parametrize("signal_name", ["interrupt", "terminate"], ids=["Ctrl-C", "SIGTERM"])
@pytest.mark.parametrize("workers", [0, 2], ids=["threads", "worker processes"])
def test_devhost_stops_at_once_while_activities_run(
    tmp_path: Path, workers: int, signal_name: str
) -> None:
    started, log = tmp_path / "started", tmp_path / "devhost.log"
    host = DevHostProcess(
        APP, None, "LifecycleHub", env={"STARTED_FILE": str(started)}, log_path=log,
        extra_args=["--worker-processes", str(workers)], process_group=True,
    )  # fmt: skip
    host.start()
    try:
        request = urllib.request.Request(host.base_url + START, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
        deadline = time.monotonic() + 30
        while not started.exists() or len(started.read_text().split()) < 2:
            assert time.monotonic() < deadline, "the activities did not start"
            time.sleep(0.05)
        began = time.monotonic()
        getattr(host, signal_name)()
        status = host.wait(timeout_seconds=10)
        took = time.monotonic() - began
    finally:
        host.kill()
    text = log.read_text()
    assert took < STOP_BUDGET_SECONDS, text
    assert status == 0, text
    assert "starting another" not in text and "lost" not in text, text
    assert "Traceback" not in text, text
    activity_pids = {int(pid) for pid in started.read_text().split()}
    assert (activity_pids == {host.pid}) == (workers == 0)
    assert not any(alive(pid) for pid in activity_pids - {host.pid})
