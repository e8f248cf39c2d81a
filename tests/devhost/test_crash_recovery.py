"""kill -9 of a devhost process on the Table store, then a restart: nothing is lost."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests

from devhost.history import EventType
from devhost.instance import InstanceState
from devhost.store.tables import TableStore

APP = Path(__file__).parent / "apps" / "crash"
STEPS = 12
INSTANCES = 3

pytestmark = pytest.mark.azurite


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevhostProcess:
    """`python -m devhost` on the Table store, as a user runs it."""

    def __init__(self, app_dir: Path, port: int, connection_string: str, log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "STEP_LOG": str(log)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "--app",
                str(app_dir),
                "--port",
                str(port),
                "--store",
                "tables",
                "--connection-string",
                connection_string,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/admin/host/status", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("devhost did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def crash_app(tmp_path: Path) -> Path:
    """A copy of the crash app with its own task hub, so runs never share instances."""
    app_dir = tmp_path / "app"
    shutil.copytree(APP, app_dir)
    hub = f"Crash{uuid.uuid4().hex[:10]}"
    host_json = {"version": "2.0", "extensions": {"durableTask": {"hubName": hub}}}
    (app_dir / "host.json").write_text(json.dumps(host_json))
    return app_dir


def test_kill_9_mid_run_then_restart_completes_every_instance(
    crash_app: Path, tmp_path: Path, azurite: str
) -> None:
    """Orchestrations killed mid-run finish after a restart with intact, gap-free histories;
    only steps that were in flight when the process died may run a second time."""
    log = tmp_path / "steps.log"
    port = free_port()
    first = DevhostProcess(crash_app, port, azurite, log)
    try:
        urls = []
        for _ in range(INSTANCES):
            response = requests.post(f"{first.base}/api/steps/{STEPS}", timeout=10)
            assert response.status_code == 202
            urls.append(response.json()["statusQueryGetUri"])
        deadline = time.monotonic() + 30
        while (log.read_text().count("\n") if log.exists() else 0) < INSTANCES * 4:
            assert time.monotonic() < deadline, "steps did not start"
            time.sleep(0.05)
    finally:
        first.kill()
    executed_before_kill = log.read_text().count("\n")
    assert executed_before_kill < INSTANCES * STEPS, "the kill came too late to test anything"

    second = DevhostProcess(crash_app, port, azurite, log)
    try:
        statuses = [wait_for_completion(url) for url in urls]
    finally:
        second.stop()

    executions = Counter(
        (step["id"], step["i"]) for step in map(json.loads, log.read_text().splitlines())
    )
    saved = {state.instance_id: state for state in load_saved_instances(azurite, crash_app)}
    for status in statuses:
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == list(range(STEPS))
        history = saved[status["instanceId"]].history
        scheduled = [e["EventId"] for e in history if e["EventType"] == EventType.TASK_SCHEDULED]
        completed = [
            e["TaskScheduledId"] for e in history if e["EventType"] == EventType.TASK_COMPLETED
        ]
        assert scheduled == list(range(STEPS))
        assert completed == list(range(STEPS))
        runs = [executions[(status["instanceId"], i)] for i in range(STEPS)]
        assert all(count >= 1 for count in runs)
        assert max(runs) <= 2, "only the step in flight at the kill may run twice"
    assert sum(executions.values()) <= INSTANCES * STEPS + INSTANCES


def load_saved_instances(connection_string: str, app_dir: Path) -> list[InstanceState]:
    """What the Table store holds for the app's task hub, read directly."""
    hub = json.loads((app_dir / "host.json").read_text())["extensions"]["durableTask"]["hubName"]

    async def load() -> list[InstanceState]:
        store = TableStore(connection_string, hub)
        await store.open()
        try:
            return await store.load_all()
        finally:
            await store.close()

    return asyncio.run(load())


def wait_for_completion(status_url: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(status_url, params={"showHistory": "true"}, timeout=10)
        body = response.json()
        if body["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{status_url} did not finish")
