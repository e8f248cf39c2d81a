"""The durable client's calls to devhost's own API, answered in-process (devhost.http.local_client).

Each call is made twice against the same host: through the SDK's own http_utils function (real
HTTP) and through the function devhost put in the SDK client's place; both answers must be the
same ``[status, body]`` the SDK's DurableOrchestrationClient reads.
"""

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from azure.durable_functions.models.utils import http_utils

from devhost.http.binding import RPC_PATH
from devhost.http.local_client import answer_locally
from devhost.http.server import MAX_REQUEST_BYTES
from devhost.instance import RUNNING
from devhost.testing import DevHost

Call = Callable[..., Any]
# The module, not the class the package exports under the same name.
client_module = importlib.import_module("azure.durable_functions.models.DurableOrchestrationClient")


def over_http(name: str) -> Call:
    return getattr(http_utils, name)


def in_process(name: str) -> Call:
    return getattr(client_module, name)


@pytest.fixture
def rpc(http_host) -> tuple[DevHost, str]:
    host, http = http_host
    return host, http.base_url + RPC_PATH


def both(host: DevHost, name: str, *args: Any) -> tuple[Any, Any]:
    """The answer over HTTP and the answer in-process, for the same call."""
    return (
        host.call(over_http(name)(*args)),
        host.call(in_process(name)(*args)),
    )


def start(
    host: DevHost,
    base: str,
    how: Call,
    instance_id: str,
    data: Any = '"input"',
    orchestrator: str = "hello_sequence",
) -> Any:
    return host.call(how(f"{base}orchestrators/{orchestrator}/{instance_id}", data))


def finished(host: DevHost, base: str, instance_id: str) -> str:
    start(host, base, over_http("post_async_request"), instance_id)
    host.wait_for(instance_id)
    return instance_id


class TestSameAnswers:
    def test_status_with_history_input_and_output(self, rpc) -> None:
        host, base = rpc
        instance_id = finished(host, base, "done")
        query = "showHistory=true&showHistoryOutput=true&showInput=true"
        http, local = both(host, "get_async_request", f"{base}instances/{instance_id}?{query}")
        assert http[0] == 200
        assert local == http

    def test_an_unknown_instance_is_404_with_an_empty_string(self, rpc) -> None:
        host, base = rpc
        http, local = both(host, "get_async_request", f"{base}instances/nobody")
        assert http == [404, ""]
        assert local == http

    def test_a_query_by_status(self, rpc) -> None:
        host, base = rpc
        finished(host, base, "queried")
        url = f"{base}instances/?runtimeStatus=Completed"
        http, local = both(host, "get_async_request", url)
        assert http[0] == 200 and [item["instanceId"] for item in http[1]] == ["queried"]
        assert local == http

    def test_a_start_answers_alike_but_for_the_instance_id(self, rpc) -> None:
        host, base = rpc
        http = start(host, base, over_http("post_async_request"), "by-http")
        local = start(host, base, in_process("post_async_request"), "by-call")
        assert http[0] == 202
        assert str(local).replace("by-call", "by-http") == str(http)
        host.wait_for("by-call")
        assert host.output("by-call") == host.output("by-http")

    def test_starting_a_running_instance_again_is_refused_alike(self, rpc) -> None:
        host, base = rpc
        # It waits for an event, so it is still Running for the second and third start (a
        # quick orchestration could complete between them, and a completed one may restart).
        again = {"instance_id": "busy", "orchestrator": "approval"}
        start(host, base, over_http("post_async_request"), **again)
        host.wait_for("busy", RUNNING)
        http = start(host, base, over_http("post_async_request"), **again)
        local = start(host, base, in_process("post_async_request"), **again)
        assert http[0] in (409, 500)
        assert local == http

    def test_an_event_and_a_termination_for_nobody_or_a_finished_instance(self, rpc) -> None:
        host, base = rpc
        instance_id = finished(host, base, "over")
        for target in ("nobody", instance_id):
            for operation in ("raiseEvent/Approval", "terminate?reason=enough"):
                url = f"{base}instances/{target}/{operation}"
                http, local = both(host, "post_async_request", url, {"ok": 1})
                assert http[0] in (404, 410)
                assert local == http

    def test_a_purge(self, rpc) -> None:
        host, base = rpc
        finished(host, base, "purged-by-http")
        finished(host, base, "purged-by-call")
        http = host.call(over_http("delete_async_request")(f"{base}instances/purged-by-http"))
        local = host.call(in_process("delete_async_request")(f"{base}instances/purged-by-call"))
        assert http == [200, {"instancesDeleted": 1}]
        assert local == http
        missing = both(host, "delete_async_request", f"{base}instances/purged-by-call")
        assert missing[0][0] == 404 and missing[1] == missing[0]


class TestWhichPath:
    def test_calls_on_the_hosts_loop_use_no_socket(self, rpc, monkeypatch) -> None:
        host, base = rpc

        async def no_session() -> None:
            raise AssertionError("an in-process call opened an HTTP session")

        monkeypatch.setattr(http_utils, "_get_session", no_session)
        answer = host.call(in_process("get_async_request")(f"{base}instances/nobody"))
        assert answer == [404, ""]

    def test_a_call_from_another_loop_is_left_to_http(self, rpc) -> None:
        """A function running its own event loop in a thread must not touch the hub from there."""
        host, base = rpc
        url = f"{base}instances/nobody"
        assert asyncio.run(answer_locally("GET", url, b"", {})) is None
        assert host.call(answer_locally("GET", url, b"", {})) == [404, None]

    def test_another_address_or_path_or_a_huge_body_is_left_to_http(self, rpc) -> None:
        host, base = rpc
        other = base.replace("127.0.0.1", "localhost")
        webhook = base.replace(RPC_PATH, "/runtime/webhooks/durabletask/")
        for url in (f"{other}instances/nobody", f"{webhook}instances/nobody"):
            assert host.call(answer_locally("GET", url, b"", {})) is None
        huge = b" " * (MAX_REQUEST_BYTES + 1)
        assert host.call(answer_locally("POST", f"{base}instances/x/terminate", huge, {})) is None

    def test_what_is_left_to_http_still_gets_its_answer(self, rpc) -> None:
        host, base = rpc
        finished(host, base, "named")
        other = base.replace("127.0.0.1", "localhost")
        answer = host.call(in_process("get_async_request")(f"{other}instances/named"))
        assert answer[0] == 200 and answer[1]["runtimeStatus"] == "Completed"
