"""--worker-processes: activities run in separate worker processes, as on the Functions host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from devhost.process import DevHostProcess
from tests.devhost.conftest import alive
from tests.devhost.test_crash_recovery import crash_app, hub_of  # noqa: F401 - the fixture
from tests.polling import eventually

pytestmark = pytest.mark.azurite


def test_activities_run_in_worker_processes_that_die_with_the_host(
    crash_app: Path,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    azurite: str,
) -> None:
    log = tmp_path / "steps.log"
    host = DevHostProcess(
        crash_app, azurite, hub_of(crash_app), env={"STEP_LOG": str(log)},
        extra_args=["--worker-processes", "2"],
    )  # fmt: skip
    host.start()
    try:
        response = requests.post(f"{host.base_url}/api/steps/6", timeout=10)
        status_url = response.json()["statusQueryGetUri"]
        eventually(
            lambda: requests.get(status_url, timeout=10).json()["runtimeStatus"] == "Completed",
            timeout=60,
            what="the orchestration completing",
        )
        assert requests.get(status_url, timeout=10).json()["output"] == list(range(6))
        workers = {json.loads(line)["pid"] for line in log.read_text().splitlines()}
        assert host.pid not in workers
        assert all(alive(pid) for pid in workers)
    finally:
        host.kill()
    eventually(
        lambda: not any(alive(pid) for pid in workers),
        timeout=10,
        what="the worker processes ending with the killed host",
    )
