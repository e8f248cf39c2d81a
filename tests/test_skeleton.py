"""Checks of the app skeleton: host and local settings, deployment excludes, function wiring."""

import json
import socket
from pathlib import Path

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

import devhost.azurite as azurite_mod
from devhost.azurite import connection_string, ensure_azurite, port_open

ROOT = Path(__file__).resolve().parent.parent


def test_host_json() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    assert host["extensions"]["http"]["routePrefix"] == "api"
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "DurableSagaHub"
    assert durable["maxConcurrentActivityFunctions"] == 10
    assert durable["maxConcurrentOrchestratorFunctions"] == 10


def test_local_settings_sample() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())
    assert sample["IsEncrypted"] is False
    assert sample["Values"] == {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "AzureWebJobsFeatureFlags": "EnableWorkerIndexing",
    }


def test_funcignore_keeps_local_tooling_out_of_the_package() -> None:
    lines = (ROOT / ".funcignore").read_text().splitlines()
    for entry in ("tests/", "devhost/", "infra/", "benchmarks/", "node_modules/", ".venv/"):
        assert entry in lines
    assert "local.settings.json" in lines
    # Deployed code must not be excluded.
    deployed_paths = ("function_app.py", "api/", "shared/", "services/", "services/tables.json")
    for deployed in (*deployed_paths, "*.json", "host.json", "requirements.txt"):
        assert deployed not in lines


def test_function_app_registers_anonymous_health_route() -> None:
    from devhost.app_loader import load_app
    from shared import services
    from shared.services import MemoryStorage, Services
    from shared.settings import Settings

    # Through devhost's index: get_functions() may run only once per app object, and other
    # tests load this same app into devhost.
    functions = {f.get_function_name(): f for f in load_app(ROOT).http}
    assert "health" in functions
    trigger = functions["health"].get_trigger()
    assert trigger.route == "health"
    assert [str(m) for m in trigger.methods] == ["GET"]
    assert str(trigger.auth_level) == "ANONYMOUS"

    # Storage answering or not is tests/integration/test_api.py's business.
    req = func.HttpRequest("GET", "http://localhost/api/health", body=b"")
    with services.use(Services(Settings(), MemoryStorage())):  # its ping always answers
        resp = functions["health"].get_user_function()(req)
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert json.loads(resp.get_body()) == {"status": "ok", "storage": "ok"}


def test_missing_azurite_binary_says_to_run_npm_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(azurite_mod, "AZURITE_BIN", ROOT / "no-such-dir" / "azurite")
    with pytest.raises(RuntimeError, match="npm install"):
        ensure_azurite(table_port=_free_port())


@pytest.mark.azurite
def test_azurite_fixture_serves_tables(azurite: str) -> None:
    service = TableServiceClient.from_connection_string(azurite)
    assert isinstance(list(service.list_tables()), list)


@pytest.mark.azurite
def test_ensure_azurite_starts_reuses_and_stops(tmp_path: Path) -> None:
    blob, queue, table = _free_port(), _free_port(), _free_port()
    handle = ensure_azurite(table, blob, queue, location=tmp_path)
    try:
        assert handle.process is not None
        assert handle.connection_string == connection_string(blob, queue, table)
        service = TableServiceClient.from_connection_string(handle.connection_string)
        service.create_table("skeleton")
        assert [t.name for t in service.list_tables()] == ["skeleton"]

        reused = ensure_azurite(table, blob, queue)
        assert reused.process is None
        reused.stop()  # owns nothing, so Azurite must keep running
        assert port_open(table)
    finally:
        handle.stop()
    assert handle.process.poll() is not None
    assert not port_open(table)

    # --location persisted the table across a restart.
    again = ensure_azurite(table, blob, queue, location=tmp_path)
    try:
        service = TableServiceClient.from_connection_string(again.connection_string)
        assert [t.name for t in service.list_tables()] == ["skeleton"]
    finally:
        again.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_retention_timer_runs_on_its_configured_schedule() -> None:
    """SAGA_RETENTION_SCHEDULE (the default here) is the timer's schedule, monitored so a run
    missed while the app was down happens when it comes back."""
    from devhost.app_loader import load_app
    from shared.settings import Settings

    (timer,) = [f for f in load_app(ROOT).timers if f.get_function_name() == "retention"]
    trigger = timer.get_trigger()
    assert trigger.schedule == Settings().retention_schedule
    assert trigger.use_monitor is True
