"""kill -9 of a devhost process on the Table store, then a restart: nothing is lost."""

import asyncio
import json
import shutil
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests

from devhost.history import EventType
from devhost.instance import InstanceState
from devhost.process import DevHostProcess, free_port
from devhost.store.tables import TableStore
from tests.polling import eventually

APP = Path(__file__).parent / "apps" / "crash"
STEPS = 12
INSTANCES = 3

pytestmark = pytest.mark.azurite


@pytest.fixture
def crash_app(tmp_path: Path) -> Path:
    """A copy of the crash app with its own task hub, so runs never share instances."""
    app_dir = tmp_path / "app"
    shutil.copytree(APP, app_dir)
    hub = f"Crash{uuid.uuid4().hex[:10]}"
    host_json = {"version": "2.0", "extensions": {"durableTask": {"hubName": hub}}}
    (app_dir / "host.json").write_text(json.dumps(host_json))
    return app_dir


@pytest.mark.parametrize("checkpoint_ms", [0, 250], ids=["checkpoint every episode", "deferred"])
def test_kill_9_mid_run_then_restart_completes_every_instance(
    crash_app: Path, tmp_path: Path, azurite: str, checkpoint_ms: int
) -> None:
    """Orchestrations killed mid-run finish after a restart with intact, gap-free histories.
    Only steps scheduled after an instance's last checkpoint may run a second time: with every
    episode checkpointed, that is the one step in flight at the kill (the Azure Storage provider
    sends an episode's messages, then commits its history: AzureStorageOrchestrationService.cs,
    CompleteTaskOrchestrationWorkItemAsync); with deferred checkpoints, the steps of the last
    ``checkpoint_ms``."""
    log = tmp_path / "steps.log"
    port = free_port()
    args = ["--checkpoint-ms", str(checkpoint_ms)]
    env = {"STEP_LOG": str(log)}
    first = DevHostProcess(crash_app, azurite, hub_of(crash_app), port, env, extra_args=args)
    first.start()
    try:
        urls = []
        for _ in range(INSTANCES):
            response = requests.post(f"{first.base_url}/api/steps/{STEPS}", timeout=10)
            assert response.status_code == 202
            urls.append(response.json()["statusQueryGetUri"])
        eventually(
            lambda: (log.read_text().count("\n") if log.exists() else 0) >= INSTANCES * 4,
            timeout=30,
            what="the steps starting",
        )
    finally:
        first.kill()
    executed_before_kill = log.read_text().count("\n")
    assert executed_before_kill < INSTANCES * STEPS, "the kill came too late to test anything"

    second = DevHostProcess(crash_app, azurite, hub_of(crash_app), port, env, extra_args=args)
    second.start()
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
        assert max(runs) <= 2, "one kill runs a step at most twice"
        if checkpoint_ms == 0:
            assert sum(runs) <= STEPS + 1, "only the step in flight at the kill may run twice"


def hub_of(app_dir: Path) -> str:
    return json.loads((app_dir / "host.json").read_text())["extensions"]["durableTask"]["hubName"]


def load_saved_instances(connection_string: str, app_dir: Path) -> list[InstanceState]:
    """What the Table store holds for the app's task hub, read directly."""
    hub = hub_of(app_dir)

    async def load() -> list[InstanceState]:
        store = TableStore(connection_string, hub)
        await store.open()
        try:
            return await store.load_all()
        finally:
            await store.close()

    return asyncio.run(load())


def wait_for_completion(status_url: str, timeout: float = 90) -> dict:
    def ended() -> dict | None:
        response = requests.get(status_url, params={"showHistory": "true"}, timeout=10)
        body = response.json()
        return body if body["runtimeStatus"] in ("Completed", "Failed", "Terminated") else None

    return eventually(ended, timeout=timeout, what=f"{status_url} finishing", every=0.2)
