"""A durable client input works whatever triggers the function: timer, activity or HTTP, with
activities on devhost's threads and in worker processes (`python -m devhost`), and in-process
under devhost.testing.DevHost, whose client calls the server ``serve_http`` started or, when no
test asked for one, a server DevHost starts for the first function that needs it.

Follows src/WebJobs.Extensions.DurableTask/DurableTaskExtension.cs and Bindings/BindingHelper.cs
(azure-functions-durable-extension v2.13.7): the DurableClient attribute is bound with
``BindToInput``, whatever the trigger, to the one JSON ``DurableOrchestrationClientToString``
builds; and azure/durable_functions/decorators/durable_app.py (azure-functions-durable 1.7.0):
``durable_client_input`` wraps any function and reads its client argument by name.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.process import DevHostProcess
from devhost.testing import DevHost

APP = Path(__file__).parents[1] / "apps" / "fidelity_bindings"
INSTANCES = "/runtime/webhooks/durabletask/instances"
TIMER_INSTANCE = "started-by-timer"


@pytest.fixture(
    scope="module",
    params=[0, 1],
    ids=["activities on threads", "activities in a worker process"],
)
def base_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("devhost") / "devhost.log"
    host = DevHostProcess(
        APP, None, "BindingsHub", log_path=log,
        extra_args=["--worker-processes", str(request.param)],
    )  # fmt: skip
    host.start()
    try:
        yield host.base_url
    finally:
        host.stop()
    assert "KeyError" not in log.read_text()


def call(method: str, url: str) -> tuple[int, Any]:
    """The status and JSON body of one request (urllib: each connection closed at once)."""
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def finished(status_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status, body = call("GET", status_url)
        if status == 200 and body["runtimeStatus"] == "Completed":
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_a_timer_function_starts_an_orchestration_with_its_client(base_url: str) -> None:
    """The timer runs on startup and starts `hello` with the instance id it chooses."""
    status = finished(f"{base_url}{INSTANCES}/{TIMER_INSTANCE}")
    assert status["output"] == "Hello timer"


def test_an_activity_reads_its_own_instance_through_its_client(base_url: str) -> None:
    status, started = call("POST", f"{base_url}/api/start/ask_own_status")
    assert status == 202
    # The activity was sent before its scheduling episode's checkpoint (Running) was committed
    # (AzureStorageOrchestrationService.cs, CompleteTaskOrchestrationWorkItemAsync), so it may
    # still read the creation's Pending, as devhost's deferred checkpoint lets it.
    assert finished(started["statusQueryGetUri"])["output"] in {"Pending", "Running"}


def test_an_http_function_starts_an_orchestration_with_its_client(base_url: str) -> None:
    status, started = call("POST", f"{base_url}/api/start/hello")
    assert status == 202
    assert finished(started["statusQueryGetUri"])["output"] == "Hello None"


# --------------------------------------------------------------------------- in-process DevHost
# skip_time=False: a skipped-to timer would be the yearly timer, starting its instance again.


def test_in_process_a_timer_function_starts_an_orchestration_with_its_client() -> None:
    with DevHost(APP) as host:
        state = host.wait_for(TIMER_INSTANCE, skip_time=False)
        assert (state.runtime_status, host.output(TIMER_INSTANCE)) == ("Completed", "Hello timer")


def test_in_process_an_activity_reads_its_own_instance_through_its_client() -> None:
    with DevHost(APP) as host:
        instance_id = host.start("ask_own_status")
        assert host.wait_for(instance_id, skip_time=False).runtime_status == "Completed"
        assert host.output(instance_id) == "Running"


def test_in_process_the_client_calls_the_server_serve_http_started() -> None:
    with DevHost(APP) as host:
        base_url = host.serve_http()
        instance_id = host.start("ask_status_url")
        host.wait_for(instance_id, skip_time=False)
        assert host.output(instance_id).startswith(f"{base_url}{INSTANCES}/{instance_id}?")


def test_in_process_serve_http_after_a_client_needed_it_keeps_that_server() -> None:
    with DevHost(APP) as host:
        instance_id = host.start("ask_status_url")
        host.wait_for(instance_id, skip_time=False)
        base_url = host.serve_http()
        assert host.output(instance_id).startswith(f"{base_url}{INSTANCES}/{instance_id}?")
        status, body = call("GET", f"{base_url}{INSTANCES}/{instance_id}")
        assert (status, body["output"]) == (200, host.output(instance_id))


def test_in_process_serve_http_on_another_port_moves_the_server_and_the_client() -> None:
    with DevHost(APP) as host:
        first = host.serve_http()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        moved = host.serve_http(port)
        assert moved == f"http://127.0.0.1:{port}" != first
        instance_id = host.start("ask_status_url")
        host.wait_for(instance_id, skip_time=False)
        assert host.output(instance_id).startswith(f"{moved}{INSTANCES}/{instance_id}?")
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{first}{INSTANCES}/{instance_id}", timeout=5)
