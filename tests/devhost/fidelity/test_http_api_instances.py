"""The durable HTTP API's instance operations answer as the Azure host's: suspend, resume,
terminate, rewind and purge, per runtime status.

Sources (see each test): src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs and
ContextImplementations/DurableClient.cs (azure-functions-durable-extension 3.x, the 2025 line
extension bundle 4.38.0 takes), AzureStorageDurabilityProvider.cs (branch v3.x, 3.0.0), and
src/DurableTask.AzureStorage/Tracking/AzureTableTrackingStore.cs (DurableTask.AzureStorage 2.9.0).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devhost.clock import WallClock
from devhost.instance import COMPLETED, FAILED, RUNNING, SUSPENDED, TERMINATED
from devhost.testing import DevHost
from tests.devhost.conftest import Http

APP = Path(__file__).parents[1] / "apps" / "fidelity_http_api"
API = "/runtime/webhooks/durabletask"
GENERIC = "Something went wrong while processing your request"


@pytest.fixture
def api() -> Iterator[tuple[DevHost, Http]]:
    with DevHost(APP, clock=WallClock()) as host:
        http = Http(host.serve_http())
        http("POST", "/api/flaky/on")
        yield host, http


def start(host: DevHost, http: Http, name: str, instance_id: str, *statuses: str) -> None:
    assert http("POST", f"{API}/orchestrators/{name}/{instance_id}").status == 202
    host.wait_for(instance_id, *statuses)


def since_a_minute_ago() -> str:
    return (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_suspending_a_suspended_instance_is_500(api) -> None:
    """DurableClient.SuspendAsync (ext 3.x) throws InvalidOperationException unless the
    instance is Running, Pending or ContinuedAsNew; HandleRequestAsync answers it with 500."""
    host, http = api
    start(host, http, "waiting", "s1", RUNNING)
    assert http("POST", f"{API}/instances/s1/suspend?reason=hold").status == 202
    host.wait_for("s1", SUSPENDED)
    response = http("POST", f"{API}/instances/s1/suspend")
    assert response.status == 500
    assert response.json() == {
        "Message": GENERIC,
        "ExceptionMessage": (
            "Cannot suspend the orchestration instance s1 because instance is in the "
            "Suspended state."
        ),
        "ExceptionType": "System.InvalidOperationException",
        "StackTrace": response.json()["StackTrace"],
    }


def test_resuming_a_running_instance_is_500(api) -> None:
    """DurableClient.ResumeAsync (ext 3.x) throws InvalidOperationException unless the instance
    is Suspended."""
    host, http = api
    start(host, http, "waiting", "r1", RUNNING)
    response = http("POST", f"{API}/instances/r1/resume?reason=go")
    assert response.status == 500
    assert response.json()["ExceptionMessage"] == (
        "Cannot resume the orchestration instance r1 because instance is in the Running state."
    )
    assert host.state("r1").runtime_status == RUNNING


def test_a_suspended_instance_can_be_terminated(api) -> None:
    """DurableClient.IsOrchestrationRunning (ext 3.x) counts Suspended as running."""
    host, http = api
    start(host, http, "waiting", "t1", RUNNING)
    http("POST", f"{API}/instances/t1/suspend")
    host.wait_for("t1", SUSPENDED)
    assert http("POST", f"{API}/instances/t1/terminate?reason=stop").status == 202
    assert host.wait_for("t1").runtime_status == TERMINATED


def test_rewind_per_status_404_410_500(api) -> None:
    """HttpApiHandler.HandleRewindInstanceRequestAsync (ext 3.x): 404 unknown; 410 Completed,
    Terminated, Canceled; DurableClient.RewindAsync throws InvalidOperationException ("The
    rewind operation is only supported on failed orchestration instances.") otherwise -> 500."""
    host, http = api
    start(host, http, "ignores_input", "done")
    start(host, http, "waiting", "running", RUNNING)
    assert http("POST", f"{API}/instances/nope/rewind").status == 404
    assert http("POST", f"{API}/instances/done/rewind").status == 410
    response = http("POST", f"{API}/instances/running/rewind?reason=x")
    assert response.status == 500
    assert response.json()["ExceptionMessage"] == (
        "The rewind operation is only supported on failed orchestration instances."
    )


def test_rewind_of_a_failed_activity_runs_it_again(api) -> None:
    """AzureTableTrackingStore.RewindHistoryAsync (DurableTask.AzureStorage 2.9.0): TaskFailed and
    its TaskScheduled become GenericEvents, the instance goes to Pending, and the replay runs the
    failed task again."""
    host, http = api
    start(host, http, "calls_flaky", "rw1")
    assert host.state("rw1").runtime_status == FAILED
    http("POST", "/api/flaky/off")
    assert http("POST", f"{API}/instances/rw1/rewind?reason=fixed").status == 202
    assert host.wait_for("rw1").runtime_status == COMPLETED
    assert host.output("rw1") == "done one"
    events = http("GET", f"{API}/instances/rw1?showHistory=true").json()["historyEvents"]
    kinds = [event["EventType"] for event in events]
    assert "TaskFailed" not in kinds
    assert kinds.count("GenericEvent") >= 3  # TaskScheduled, TaskFailed, ExecutionCompleted
    assert kinds[-1] == "ExecutionCompleted"


def test_rewind_of_a_failed_sub_orchestration_rewinds_the_child(api) -> None:
    """AzureTableTrackingStore.RewindHistoryAsync (DurableTask.AzureStorage 2.9.0) recurses
    into failed sub-orchestrations; the parent's SubOrchestrationInstanceCreated stays."""
    host, http = api
    start(host, http, "parent_of_flaky", "p1")
    assert host.state("p1").runtime_status == FAILED
    assert host.state("p1-child").runtime_status == FAILED
    http("POST", "/api/flaky/off")
    assert http("POST", f"{API}/instances/p1/rewind").status == 202
    assert host.wait_for("p1").runtime_status == COMPLETED
    assert host.output("p1") == {"child": "done one"}
    assert host.state("p1-child").runtime_status == COMPLETED


def test_purge_by_id_deletes_a_running_instance(api) -> None:
    """AzureTableTrackingStore.PurgeInstanceHistoryAsync(instanceId) (DurableTask.AzureStorage
    2.9.0) checks no status; HandleDeleteHistoryByIdRequestAsync (ext 3.x) answers 200."""
    host, http = api
    start(host, http, "waiting", "gone", RUNNING)
    response = http("DELETE", f"{API}/instances/gone")
    assert (response.status, response.json()) == (200, {"instancesDeleted": 1})
    assert http("GET", f"{API}/instances/gone").status == 404
    assert http("POST", f"{API}/instances/gone/raiseEvent/Go", json_body=1).status == 404


def test_purge_by_time_range_deletes_running_instances_too(api) -> None:
    """AzureTableTrackingStore.PurgeInstanceHistoryAsync(from, to, statuses) keeps only the
    terminal statuses of the filter: none given, or none left, means no status filter at all."""
    host, http = api
    start(host, http, "ignores_input", "finished")
    start(host, http, "waiting", "running", RUNNING)
    url = f"{API}/instances?createdTimeFrom={since_a_minute_ago()}&runtimeStatus=Running"
    assert http("DELETE", url).json() == {"instancesDeleted": 2}
    assert list(host._hub.instances()) == []


def test_purge_by_time_range_with_a_terminal_status_keeps_the_others(api) -> None:
    """Same source: with Completed in the filter only completed instances go; nothing matched
    answers 404."""
    host, http = api
    start(host, http, "ignores_input", "finished")
    start(host, http, "waiting", "running", RUNNING)
    url = f"{API}/instances?createdTimeFrom={since_a_minute_ago()}&runtimeStatus=Completed,Running"
    assert http("DELETE", url).json() == {"instancesDeleted": 1}
    assert http("DELETE", url).status == 404
    assert host.state("running").runtime_status == RUNNING


def test_raising_an_event_to_a_pending_or_suspended_instance_is_accepted(api) -> None:
    """HandleRaiseEventRequestAsync (ext 3.x) refuses only Failed, Canceled, Terminated and
    Completed (410); a suspended instance keeps the event until it resumes."""
    host, http = api
    start(host, http, "waiting", "ev", RUNNING)
    http("POST", f"{API}/instances/ev/suspend")
    host.wait_for("ev", SUSPENDED)
    assert http("POST", f"{API}/instances/ev/raiseEvent/Go", json_body="yes").status == 202
    assert http("POST", f"{API}/instances/ev/resume").status == 202
    assert host.wait_for("ev").runtime_status == COMPLETED
    assert host.output("ev") == "yes"


def test_rewind_of_an_orchestrator_failure_replays_it(api) -> None:
    """AzureStorageOrchestrationService.RewindTaskOrchestrationAsync (DurableTask.AzureStorage
    2.9.0) sends the rewound instance a GenericEvent, so an orchestrator that failed by itself
    replays at once (and, its code fixed, completes)."""
    host, http = api
    start(host, http, "raises", "code")
    assert host.state("code").runtime_status == FAILED
    http("POST", "/api/flaky/off")
    assert http("POST", f"{API}/instances/code/rewind").status == 202
    host.wait_idle()
    assert host.state("code").runtime_status == COMPLETED
    assert host.output("code") == "fixed"
