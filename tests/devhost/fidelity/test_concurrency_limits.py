"""How much runs at once: host.json's maxConcurrentActivityFunctions and
maxConcurrentOrchestratorFunctions, and the Python worker's thread pool.

The Durable extension hands the worker at most that many activities and orchestrator episodes
at once (durabletask, src/DurableTask.Core/WorkItemDispatcher.cs: a SemaphoreSlim of
MaxConcurrentWorkItems; azure-functions-durable-extension, AzureStorageDurabilityProviderFactory.cs
sets them from host.json). The Python worker runs sync functions, orchestrators among them, on a
pool of PYTHON_THREADPOOL_THREAD_COUNT threads (azure-functions-python-worker 4.34.0,
azure_functions_worker/dispatcher.py, _sync_call_tp). Before, devhost's worker processes ran one
invocation each whatever the settings said, and ignored both host.json limits.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from devhost.process import DevHostProcess
from tests.overlap import most_at_once
from tests.polling import eventually

APP = """
import json
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def record(kind, began):
    with open(os.environ["SPANS_FILE"], "a") as spans:
        spans.write(json.dumps([kind, began, time.time()]) + "\\n")


@app.route(route="start", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req, client):
    instance_id = await client.start_new("fan_out")
    return func.HttpResponse(instance_id, status_code=202)


@app.orchestration_trigger(context_name="context")
def fan_out(context):
    began = time.time()  # a test of concurrency, not of replay: the clock is only recorded
    time.sleep(0.25)
    record("episode", began)
    yield context.task_all([context.call_activity("nap", n) for n in range(6)])
    return "done"


@app.activity_trigger(input_name="n")
def nap(n):
    began = time.time()
    time.sleep(0.3)
    record("activity", began)
    return n
"""


def run_fan_outs(tmp_path: Path, limits: tuple[int, int], workers: int) -> dict[str, int]:
    """Three fan_out instances at once; the most activities and episodes seen running at once."""
    activities, orchestrators = limits
    (tmp_path / "function_app.py").write_text(APP)
    durable = {
        "maxConcurrentActivityFunctions": activities,
        "maxConcurrentOrchestratorFunctions": orchestrators,
    }
    host_json = {"version": "2.0", "extensions": {"durableTask": durable}}
    (tmp_path / "host.json").write_text(json.dumps(host_json))
    spans_file = tmp_path / "spans.jsonl"
    env = {"SPANS_FILE": str(spans_file), "PYTHON_THREADPOOL_THREAD_COUNT": "8"}
    with DevHostProcess(
        tmp_path, None, "LimitsHub", env=env, log_path=tmp_path / "devhost.log",
        extra_args=["--worker-processes", str(workers)],
    ) as host:  # fmt: skip
        ids = [_post(f"{host.base_url}/api/start") for _ in range(3)]
        for instance_id in ids:
            url = f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance_id}"
            eventually(lambda url=url: _status(url) == "Completed", timeout=30, what=url)
    spans: dict[str, list[tuple[float, float]]] = {"activity": [], "episode": []}
    for line in spans_file.read_text().splitlines():
        kind, began, ended = json.loads(line)
        spans[kind].append((began, ended))
    assert len(spans["activity"]) == 18
    return {kind: most_at_once(found) for kind, found in spans.items()}


def _post(url: str) -> str:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def _status(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(json.load(response)["runtimeStatus"])


@pytest.mark.parametrize("workers", [1, 0], ids=["worker process", "in-process"])
def test_no_more_activities_run_at_once_than_host_json_allows(tmp_path: Path, workers: int) -> None:
    assert run_fan_outs(tmp_path, (2, 1), workers)["activity"] == 2


def test_no_more_episodes_run_at_once_than_host_json_allows(tmp_path: Path) -> None:
    """One episode at a time, while the worker runs activities side by side."""
    most = run_fan_outs(tmp_path, (8, 1), 1)
    assert most["episode"] == 1
    assert most["activity"] >= 4


def test_a_worker_runs_what_the_limits_allow_on_its_thread_pool(tmp_path: Path) -> None:
    """One worker process with eight threads and room under the limits: activities and
    episodes of the three instances run side by side in it."""
    most = run_fan_outs(tmp_path, (8, 8), 1)
    assert most["activity"] >= 6
    assert most["episode"] >= 2
