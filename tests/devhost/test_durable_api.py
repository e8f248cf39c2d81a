"""The durable HTTP API over real HTTP: driven directly and through the SDK's own client.

Expected statuses and bodies follow the Durable extension's HttpApiHandler and the Python SDK's
DurableOrchestrationClient (which maps them to return values and exceptions).
"""

import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from devhost.history import EventType
from devhost.instance import COMPLETED, FAILED, RUNNING, SUSPENDED, TERMINATED

API = "/runtime/webhooks/durabletask"
RPC = "/durabletask"
API_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
CHECK_STATUS_KEYS = {
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "rewindPostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}


def start(http, orchestrator: str, payload=None, instance_id: str | None = None) -> str:
    """Start through the app's HTTP starter (the SDK client's start_new)."""
    query = f"?id={instance_id}" if instance_id else ""
    response = http("POST", f"/api/orchestrators/{orchestrator}{query}", json_body=payload)
    assert response.status == 202, response.body
    return response.json()["id"]


def started_and_waiting(host, http, instance_id: str | None = None) -> str:
    """An `approval` instance that is running and waiting for its event."""
    instance_id = start(http, "approval", instance_id=instance_id)
    host.wait_for(instance_id, RUNNING)
    return instance_id


def finished(host, http, orchestrator: str = "hello_sequence", payload=None) -> str:
    instance_id = start(http, orchestrator, payload)
    host.wait_for(instance_id)
    return instance_id


class TestStarters:
    def test_the_check_status_response_has_the_management_urls(self, http_host) -> None:
        host, http = http_host
        response = http("POST", "/api/orchestrators/hello_sequence", json_body=["A", "B"])
        assert response.status == 202
        body = response.json()
        assert set(body) == CHECK_STATUS_KEYS
        assert response.headers["Location"] == body["statusQueryGetUri"]
        assert response.headers["Retry-After"] == "10"
        assert body["statusQueryGetUri"] == (
            f"{http.base_url}{API}/instances/{body['id']}?taskHub=TestHubName&connection=Storage"
        )
        host.wait_for(body["id"])
        status = http("GET", body["statusQueryGetUri"])
        assert status.status == 200
        assert status.json()["output"] == ["Hello A", "Hello B"]
        # The SDK client posts the input's JSON text; the host keeps and shows that text.
        assert status.json()["input"] == '["A", "B"]'

    def test_wait_for_completion_returns_the_output_when_done_in_time(self, http_host) -> None:
        _, http = http_host
        response = http("POST", "/api/orchestrators/hello_sequence/wait", json_body=["X"])
        assert response.status == 200
        assert response.json() == ["Hello X"]

    def test_wait_for_completion_times_out_into_a_check_status_response(self, http_host) -> None:
        host, http = http_host
        began = time.monotonic()
        response = http("POST", "/api/orchestrators/approval/wait?timeout=300")
        assert time.monotonic() - began < 5
        assert response.status == 202
        body = response.json()
        assert set(body) == CHECK_STATUS_KEYS
        assert host.state(body["id"]).runtime_status in (RUNNING, "Pending")

    def test_wait_for_completion_of_a_failure_is_a_500_with_the_status(self, http_host) -> None:
        _, http = http_host
        response = http("POST", "/api/orchestrators/failing/wait")
        assert response.status == 500
        body = response.json()
        assert body["runtimeStatus"] == "Failed"
        assert "the order was rejected" in json.dumps(body["output"])

    def test_starting_an_unknown_orchestrator_raises_in_the_client(self, http_host) -> None:
        _, http = http_host
        response = http("POST", "/api/start-error/no_such_orchestrator")
        assert response.status == 400
        assert "no_such_orchestrator" in response.json()["error"]

    def test_starting_a_running_instance_id_again_raises_in_the_client(self, http_host) -> None:
        host, http = http_host
        instance_id = started_and_waiting(host, http, "dup-1")
        response = http("POST", f"/api/start-error/approval?id={instance_id}")
        assert response.status == 400
        assert "already exists" in response.json()["error"]


class TestStartEndpoint:
    def test_a_json_string_body_is_the_inputs_json_text(self, http_host) -> None:
        """A caller other than the SDK posts the input's JSON text as a JSON string, as the SDK
        does (a bare array would reach get_input() as a list, which fails; see fidelity)."""
        host, http = http_host
        body = json.dumps(["Oslo"])
        response = http("POST", f"{API}/orchestrators/hello_sequence", json_body=body)
        assert response.status == 202
        instance_id = response.json()["id"]
        host.wait_for(instance_id)
        assert host.output(instance_id) == ["Hello Oslo"]

    def test_an_instance_id_in_the_path_is_used(self, http_host) -> None:
        host, http = http_host
        response = http("POST", f"{RPC}/orchestrators/hello_sequence/my-id")
        assert response.json()["id"] == "my-id"
        assert host.wait_for("my-id").runtime_status == COMPLETED

    def test_function_names_are_case_insensitive(self, http_host) -> None:
        """The function is found ignoring case; the instance keeps the caller's spelling."""
        host, http = http_host
        instance_id = http("POST", f"{RPC}/orchestrators/HELLO_SEQUENCE").json()["id"]
        state = host.wait_for(instance_id)
        assert (state.name, state.runtime_status) == ("HELLO_SEQUENCE", COMPLETED)

    def test_malformed_json_is_400(self, http_host) -> None:
        _, http = http_host
        response = http("POST", f"{API}/orchestrators/hello_sequence", b"{not json")
        assert response.status == 400
        assert response.json()["Message"] == "Invalid JSON content"

    def test_an_unknown_orchestrator_is_400_with_the_message_the_sdk_reads(self, http_host) -> None:
        _, http = http_host
        response = http("POST", f"{RPC}/orchestrators/nope")
        assert response.status == 400
        assert "nope" in response.json()["ExceptionMessage"]

    def test_a_running_instance_id_is_500(self, http_host) -> None:
        """NonRunningStates: Azure Storage's OrchestrationAlreadyExistsException escapes as 500."""
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        response = http("POST", f"{RPC}/orchestrators/approval/{instance_id}")
        assert response.status == 500
        assert "already exists" in response.json()["ExceptionMessage"]

    def test_timeout_and_polling_interval_wait_for_the_output(self, http_host) -> None:
        _, http = http_host
        response = http(
            "POST",
            f"{API}/orchestrators/hello_sequence?timeout=10&pollingInterval=1",
            json_body=json.dumps(["Rome"]),
        )
        assert (response.status, response.json()) == (200, ["Hello Rome"])


class TestStatus:
    def test_a_running_instance_is_202_with_location_and_custom_status(self, http_host) -> None:
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        response = http("GET", f"{API}/instances/{instance_id}?taskHub=x&connection=y&code=z")
        assert response.status == 202
        assert response.headers["Retry-After"] == "5"
        assert response.headers["Location"].startswith(f"{http.base_url}{API}/instances/")
        body = response.json()
        assert body["runtimeStatus"] == "Running"
        assert body["customStatus"] == {"stage": "waiting"}
        assert body["output"] is None
        assert API_TIME.fullmatch(body["createdTime"])
        assert API_TIME.fullmatch(body["lastUpdatedTime"])
        assert "historyEvents" not in body

    def test_a_completed_instance_is_200(self, http_host) -> None:
        host, http = http_host
        instance_id = finished(host, http, payload=["Lima"])
        body = http("GET", f"{RPC}/instances/{instance_id}").json()
        assert body == {
            "name": "hello_sequence",
            "instanceId": instance_id,
            "runtimeStatus": "Completed",
            "input": '["Lima"]',  # the JSON text the SDK client sent, as the host keeps it
            "customStatus": None,
            "output": ["Hello Lima"],
            "createdTime": body["createdTime"],
            "lastUpdatedTime": body["lastUpdatedTime"],
        }

    def test_a_failed_instance_is_200_unless_asked_for_500(self, http_host) -> None:
        host, http = http_host
        instance_id = finished(host, http, "failing")
        assert http("GET", f"{API}/instances/{instance_id}").status == 200
        query = "?returnInternalServerErrorOnFailure=true"
        assert http("GET", f"{API}/instances/{instance_id}{query}").status == 500

    def test_show_input_false_hides_the_input(self, http_host) -> None:
        host, http = http_host
        instance_id = finished(host, http, payload=["Lima"])
        assert http("GET", f"{API}/instances/{instance_id}?showInput=false").json()["input"] is None

    def test_history_is_readable_and_output_only_on_request(self, http_host) -> None:
        host, http = http_host
        instance_id = finished(host, http, payload=["Lima"])
        events = http("GET", f"{API}/instances/{instance_id}?showHistory=true").json()[
            "historyEvents"
        ]
        kinds = [e["EventType"] for e in events]
        assert kinds == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
        started, completed, done = events
        assert started["FunctionName"] == "hello_sequence"
        assert completed["FunctionName"] == "say_hello"
        assert completed["Input"] == '"Lima"'
        assert "ScheduledTime" in completed
        assert "Result" not in completed
        assert "Result" not in done
        for event in events:
            assert not {"EventId", "IsPlayed", "TaskScheduledId"} & set(event)

        query = "?showHistory=true&showHistoryOutput=true"
        events = http("GET", f"{API}/instances/{instance_id}{query}").json()["historyEvents"]
        assert events[1]["Result"] == "Hello Lima"
        assert events[2]["Result"] == ["Hello Lima"]

    def test_the_history_names_the_final_status(self, http_host) -> None:
        host, http = http_host
        instance_id = finished(host, http)
        query = "?showHistory=true&showHistoryOutput=true"
        events = http("GET", f"{API}/instances/{instance_id}{query}").json()["historyEvents"]
        assert events[-1]["OrchestrationStatus"] == "Completed"

    def test_an_unknown_instance_is_404_with_an_empty_body(self, http_host) -> None:
        _, http = http_host
        response = http("GET", f"{API}/instances/nope")
        assert (response.status, response.body) == (404, b"")


class TestQueries:
    def test_filters_by_status_prefix_and_created_time(self, http_host) -> None:
        host, http = http_host
        done = [finished(host, http) for _ in range(2)]
        waiting = started_and_waiting(host, http, "q-waiting")
        everything = http("GET", f"{RPC}/instances/").json()
        assert {s["instanceId"] for s in everything} == {*done, waiting}

        running = http("GET", f"{RPC}/instances/?runtimeStatus=Running,Pending").json()
        assert [s["instanceId"] for s in running] == [waiting]
        completed = http("GET", f"{RPC}/instances/?runtimeStatus=Completed").json()
        assert {s["instanceId"] for s in completed} == set(done)
        assert [
            s["instanceId"] for s in http("GET", f"{RPC}/instances?instanceIdPrefix=q-").json()
        ] == [waiting]
        later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert http("GET", f"{RPC}/instances/?createdTimeFrom={later}").json() == []
        assert len(http("GET", f"{RPC}/instances/?createdTimeTo={later}").json()) == 3

    def test_unknown_statuses_are_ignored_like_enum_try_parse(self, http_host) -> None:
        host, http = http_host
        finished(host, http)
        assert len(http("GET", f"{RPC}/instances/?runtimeStatus=completed,Bogus").json()) == 1

    def test_top_pages_with_a_continuation_token(self, http_host) -> None:
        host, http = http_host
        ids = {finished(host, http) for _ in range(5)}
        seen: list[str] = []
        token = None
        pages = 0
        while True:
            headers = {"x-ms-continuation-token": token} if token else {}
            response = http("GET", f"{API}/instances/?top=2", headers=headers)
            assert response.status == 200
            seen += [s["instanceId"] for s in response.json()]
            pages += 1
            token = response.headers.get("x-ms-continuation-token")
            if not token:
                break
        assert pages == 3
        assert sorted(seen) == sorted(ids)

    def test_a_bad_continuation_token_is_500(self, http_host) -> None:
        """The storage query fails on a token it did not issue; the host answers 500."""
        _, http = http_host
        response = http("GET", f"{API}/instances/", headers={"x-ms-continuation-token": "??"})
        assert response.status == 500

    def test_the_sdk_client_gets_status_with_history_and_filters(self, http_host) -> None:
        host, http = http_host
        instance_id = finished(host, http, payload=["Kyiv"])
        waiting = started_and_waiting(host, http, "sdk-waiting")
        status = http("GET", f"/api/status/{instance_id}").json()
        assert status["found"] is True
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == ["Hello Kyiv"]
        assert status["historyEvents"][0]["EventType"] == "ExecutionStarted"
        assert http("GET", "/api/status/unknown-id").json() == {"found": False}

        assert http("GET", "/api/query?status=Running").json() == [waiting]
        assert http("GET", "/api/query?prefix=sdk-").json() == [waiting]
        assert http("GET", "/api/query?status=Completed").json() == [instance_id]
        earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        assert len(http("GET", f"/api/query?from={quote(earlier)}").json()) == 2


class TestEvents:
    def test_the_sdk_client_raises_an_event(self, http_host) -> None:
        """The SDK encodes event data twice and the extension keeps one level of it, so the
        orchestrator receives the JSON *text* (azure-functions-durable-python#295)."""
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        response = http(
            "POST", f"/api/instances/{instance_id}/events/Approval", json_body={"ok": 1}
        )
        assert response.status == 202
        host.wait_for(instance_id)
        assert host.output(instance_id) == {"answer": '{"ok": 1}', "type": "str"}

    def test_a_plain_json_event_arrives_as_that_value(self, http_host) -> None:
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        url = f"{API}/instances/{instance_id}/raiseEvent/Approval?taskHub=TestHubName"
        assert http("POST", url, json_body={"ok": 1}).status == 202
        host.wait_for(instance_id)
        assert host.output(instance_id) == {"answer": {"ok": 1}, "type": "dict"}

    def test_wrong_or_missing_content_type_is_400(self, http_host) -> None:
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        url = f"{API}/instances/{instance_id}/raiseEvent/Approval"
        for headers in ({"Content-Type": "text/plain"}, {}):
            response = http("POST", url, b'{"ok": 1}', headers)
            assert response.status == 400
            assert (
                response.json()["Message"] == "Only application/json request content is supported"
            )
        assert host.state(instance_id).runtime_status == RUNNING

    def test_malformed_json_is_400(self, http_host) -> None:
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        url = f"{API}/instances/{instance_id}/raiseEvent/Approval"
        response = http("POST", url, b"{oops", {"Content-Type": "application/json; charset=utf-8"})
        assert response.status == 400
        assert response.json()["Message"] == "Invalid JSON content"

    def test_unknown_instance_is_404_and_finished_is_410(self, http_host) -> None:
        host, http = http_host
        done = finished(host, http)
        for instance_id, expected in (("nope", 404), (done, 410)):
            url = f"{RPC}/instances/{instance_id}/raiseEvent/Approval"
            assert http("POST", url, json_body=1).status == expected

    def test_the_sdk_client_reports_gone_and_unknown_instances(self, http_host) -> None:
        host, http = http_host
        done = finished(host, http)
        gone = http("POST", f"/api/instances/{done}/events/Approval", json_body=1)
        assert gone.json()["error"] == (
            f"Instance with ID {done} is gone: either completed or failed"
        )
        unknown = http("POST", "/api/instances/nope/events/Approval", json_body=1)
        assert unknown.json()["error"] == "No instance with ID nope found."


class TestInstanceOperations:
    def test_the_sdk_client_terminates_with_a_reason(self, http_host) -> None:
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        assert http("POST", f"/api/instances/{instance_id}/terminate?reason=stop").status == 202
        state = host.wait_for(instance_id)
        assert state.runtime_status == TERMINATED
        assert http("GET", f"{API}/instances/{instance_id}").json()["output"] == "stop"
        # The SDK treats 410 (already finished) as success.
        assert http("POST", f"/api/instances/{instance_id}/terminate").status == 202

    def test_the_sdk_client_suspends_and_resumes(self, http_host) -> None:
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        assert http("POST", f"/api/instances/{instance_id}/suspend?reason=wait").status == 202
        host.wait_for(instance_id, SUSPENDED)
        assert http("GET", f"{API}/instances/{instance_id}").status == 202
        assert http("POST", f"/api/instances/{instance_id}/resume").status == 202
        host.wait_for(instance_id, RUNNING)

    def test_the_sdk_client_reports_an_unknown_instance(self, http_host) -> None:
        _, http = http_host
        response = http("POST", "/api/instances/nope/terminate")
        assert response.json()["error"] == "No instance with ID 'nope' found."

    @pytest.mark.parametrize("operation", ["terminate", "suspend", "resume"])
    def test_unknown_is_404_and_finished_is_410(self, http_host, operation: str) -> None:
        host, http = http_host
        done = finished(host, http)
        assert http("POST", f"{API}/instances/nope/{operation}").status == 404
        assert http("POST", f"{API}/instances/{done}/{operation}?reason=x").status == 410

    def test_operation_names_are_case_insensitive(self, http_host) -> None:
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        assert http("POST", f"{RPC}/instances/{instance_id}/TERMINATE").status == 202
        assert host.wait_for(instance_id).runtime_status == TERMINATED

    def test_rewind_answers_per_status(self, http_host) -> None:
        """404 unknown, 410 completed, 500 running, 202 failed (Azure Storage rewinds)."""
        host, http = http_host
        failed = finished(host, http, "failing")
        done = finished(host, http)
        running = started_and_waiting(host, http)
        assert http("POST", f"{API}/instances/nope/rewind").status == 404
        assert http("POST", f"{API}/instances/{done}/rewind").status == 410
        assert http("POST", f"{API}/instances/{running}/rewind").status == 500
        assert http("POST", f"{API}/instances/{failed}/rewind?reason=again").status == 202
        # The rewind replays it at once; this orchestrator always raises, so it fails again.
        state = host.wait_for(failed)
        assert state.runtime_status == FAILED
        kinds = [event["EventType"] for event in state.history]
        assert kinds.count(EventType.GENERIC_EVENT) >= 1
        assert kinds.count(EventType.EXECUTION_COMPLETED) == 1

    def test_restart_starts_the_same_orchestration_again(self, http_host) -> None:
        host, http = http_host
        done = finished(host, http, payload=["Quito"])
        response = http("POST", f"{API}/instances/{done}/restart")
        assert response.status == 202
        new_id = response.json()["id"]
        assert new_id != done
        assert host.wait_for(new_id).runtime_status == COMPLETED
        assert host.output(new_id) == ["Hello Quito"]

        same = http("POST", f"{API}/instances/{done}/restart?restartWithNewInstanceId=false")
        assert same.json()["id"] == done
        assert http("POST", f"{API}/instances/nope/restart").status == 400


class TestPurge:
    def test_the_sdk_client_purges_a_finished_instance(self, http_host) -> None:
        host, http = http_host
        done = finished(host, http)
        assert http("DELETE", f"/api/instances/{done}").json() == {"instancesDeleted": 1}
        assert http("GET", f"{API}/instances/{done}").status == 404
        # The SDK maps 404 to zero deleted instances.
        assert http("DELETE", f"/api/instances/{done}").json() == {"instancesDeleted": 0}

    def test_a_running_instance_is_purged_too(self, http_host) -> None:
        """Azure Storage purges an instance whatever its status."""
        host, http = http_host
        instance_id = started_and_waiting(host, http)
        response = http("DELETE", f"{API}/instances/{instance_id}")
        assert (response.status, response.json()) == (200, {"instancesDeleted": 1})
        assert http("DELETE", f"/api/instances/{instance_id}").json() == {"instancesDeleted": 0}

    def test_purge_by_filter_needs_created_time_from(self, http_host) -> None:
        _, http = http_host
        response = http("DELETE", f"{API}/instances/")
        assert response.status == 400
        assert response.json() == "Please provide value for 'createdTimeFrom' parameter."

    def test_purge_by_filter_deletes_status_matches_or_everything_in_range(self, http_host) -> None:
        """Azure Storage filters by the terminal statuses asked for; without one, by none."""
        host, http = http_host
        done = [finished(host, http), finished(host, http, "failing")]
        waiting = started_and_waiting(host, http)
        since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        response = http("DELETE", f"{RPC}/instances/?createdTimeFrom={since}&runtimeStatus=Failed")
        assert response.json() == {"instancesDeleted": 1}
        assert host.hub is not None
        remaining = {state.instance_id for state in host.hub.instances()}
        assert remaining == {done[0], waiting}
        response = http("DELETE", f"{RPC}/instances/?createdTimeFrom={since}")
        assert response.json() == {"instancesDeleted": 2}
        assert list(host.hub.instances()) == []
        assert http("DELETE", f"{RPC}/instances/?createdTimeFrom={since}").status == 404


class TestRoutingErrors:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/orchestrators/hello_sequence"),
            ("PUT", "/instances/"),
            ("POST", "/instances/x"),
            ("GET", "/instances/x/terminate"),
            ("POST", "/instances/x/explode"),
            ("GET", "/instances/x/raiseEvent/E"),
            ("GET", "/nothing/here"),
            ("GET", ""),
            ("GET", "/instances/x/raiseEvent/E/extra"),
        ],
    )
    def test_unknown_routes_and_wrong_methods_are_404_like_the_extension(
        self, http_host, method: str, path: str
    ) -> None:
        _, http = http_host
        for base in (API, RPC):
            response = http(method, base + path)
            assert (response.status, response.body) == (404, b""), base + path

    def test_the_entity_api_answers_as_for_an_app_without_entities(self, http_host) -> None:
        _, http = http_host
        assert http("GET", f"{API}/entities/counter/one").status == 404
        assert http("GET", f"{API}/entities/counter").json() == []
        response = http("POST", f"{API}/entities/Counter/one?op=add")
        assert response.status == 400
        assert response.json()["Message"].startswith("The function 'counter' doesn't exist")

    def test_the_server_survives_every_bad_request(self, http_host) -> None:
        host, http = http_host
        http("POST", f"{API}/orchestrators/hello_sequence", b"\xff\xfe")
        http(
            "POST", f"{API}/instances/x/raiseEvent/E", b"\xff", {"Content-Type": "application/json"}
        )
        http("GET", f"{API}/instances/?createdTimeFrom=not-a-date&top=abc")
        assert finished(host, http)


def test_the_api_follows_the_hub_across_a_host_restart(http_host) -> None:
    """A restarted test host gets a new task hub; the running server must use it."""
    host, http = http_host
    instance_id = started_and_waiting(host, http)
    host.restart()
    url = f"{API}/instances/{instance_id}/raiseEvent/Approval"
    assert http("POST", url, json_body="yes").status == 202
    assert host.wait_for(instance_id).runtime_status == COMPLETED
    assert host.output(instance_id) == {"answer": "yes", "type": "str"}
