"""HTTP-triggered functions run over real HTTP, with the worker's and the host's conventions."""

import json
import logging
from pathlib import Path

import pytest

from devhost.app_loader import load_app
from devhost.http.binding import client_binding
from devhost.http.server import http_functions

APPS = Path(__file__).parent / "apps"


class TestRequests:
    def test_route_parameters_reach_the_function_as_strings(self, http_host) -> None:
        _, http = http_host
        response = http("GET", "/api/items/42")
        assert response.status == 200
        assert response.json() == {"by": "id", "id": "42"}

    def test_the_most_specific_route_wins(self, http_host) -> None:
        _, http = http_host
        assert http("GET", "/api/items/new").json() == {"by": "literal"}
        assert http("GET", "/api/items/42").json()["by"] == "id"
        assert http("GET", "/api/items/abc").json()["by"] == "name"

    def test_route_prefix_and_literals_are_case_insensitive(self, http_host) -> None:
        _, http = http_host
        assert http("GET", "/API/ITEMS/new").json() == {"by": "literal"}

    def test_a_catch_all_route_gets_the_rest_of_the_path(self, http_host) -> None:
        _, http = http_host
        assert http("DELETE", "/api/files/a/b%20c.txt").json() == {"path": "a/b c.txt"}
        assert http("GET", "/api/files").json() == {"path": None}

    def test_method_body_query_and_headers_are_passed_through(self, http_host) -> None:
        _, http = http_host
        response = http(
            "POST",
            "/api/echo?q=1&q=2",
            b"\x00binary\xff",
            {"Content-Type": "application/x-thing", "X-In": "hello"},
        )
        assert response.status == 201
        assert response.body == b"\x00binary\xff"
        assert response.headers["X-Echo-Query"] == "1,2"  # repeated keys joined, as the host does
        assert response.headers["X-Echo-Header"] == "hello"
        assert response.headers["Content-Type"] == "application/x-thing"

    def test_a_function_that_lists_methods_accepts_each_of_them(self, http_host) -> None:
        _, http = http_host
        assert http("PUT", "/api/items/abc").json()["method"] == "PUT"

    def test_the_context_parameter_is_provided(self, http_host) -> None:
        _, http = http_host
        body = http("GET", "/api/context").json()
        assert body["function"] == "with_context"
        assert len(body["id"]) == 36


class TestResponses:
    def test_a_sync_function_returns_its_http_response(self, http_host) -> None:
        _, http = http_host
        response = http("GET", "/api/items/7")
        assert response.headers["Content-Type"] == "application/json"

    def test_an_async_function_returns_text_with_a_charset(self, http_host) -> None:
        _, http = http_host
        response = http("GET", "/api/async/hello?name=devhost")
        assert response.status == 200
        assert response.body == b"hello devhost"
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"

    def test_a_returned_str_is_a_200_text_response(self, http_host) -> None:
        _, http = http_host
        response = http("GET", "/api/text")
        assert (response.status, response.body) == (200, b"plain text")
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"

    def test_returning_none_fails_the_invocation_like_the_worker(self, http_host, caplog) -> None:
        """The worker cannot encode None for the http output binding: the host answers 500."""
        _, http = http_host
        with caplog.at_level(logging.ERROR, logger="devhost"):
            response = http("GET", "/api/nothing")
        assert (response.status, response.body) == (500, b"")
        assert 'unsupported type "http" for Python type "NoneType"' in caplog.text

    def test_an_exception_is_a_bare_500_and_the_trace_goes_to_the_log(
        self, http_host, caplog
    ) -> None:
        _, http = http_host
        with caplog.at_level(logging.INFO, logger="devhost"):
            response = http("GET", "/api/boom")
        assert (response.status, response.body) == (500, b"")
        assert "secret detail" in caplog.text  # in the log, with the traceback
        assert "Traceback" in caplog.text

    def test_each_invocation_logs_one_line(self, http_host, caplog) -> None:
        _, http = http_host
        with caplog.at_level(logging.INFO, logger="devhost"):
            http("GET", "/api/items/5")
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("item_by_id")]
        assert len(lines) == 1
        assert lines[0].startswith("item_by_id: GET /api/items/5 -> 200 in ")
        assert lines[0].endswith(" ms")


class TestNoFunction:
    def test_an_unknown_route_is_404(self, http_host) -> None:
        _, http = http_host
        for path in ("/api/nope", "/nope", "/api/items/1/2", "/"):
            response = http("GET", path)
            assert (response.status, response.body) == (404, b""), path

    def test_a_known_route_with_another_method_is_404_like_the_host(self, http_host) -> None:
        """The Functions host answers 404, not 405 (azure-functions-host#10098)."""
        _, http = http_host
        assert http("DELETE", "/api/items/abc").status == 404
        assert http("GET", "/api/echo").status == 404

    def test_a_constraint_that_fails_is_no_match(self, http_host) -> None:
        _, http = http_host
        assert http("GET", "/api/items/abc123").status == 404

    def test_the_health_endpoint_reports_running(self, http_host) -> None:
        """As the Functions host's; devhost adds the CPU its orchestrators used (benchmarks)."""
        _, http = http_host
        response = http("GET", "/admin/host/status")
        assert response.status == 200
        body = response.json()
        assert body["state"] == "Running"
        assert all(isinstance(cpu, float) for cpu in body["orchestratorCpuSeconds"].values())

    def test_the_server_keeps_serving_after_errors(self, http_host) -> None:
        _, http = http_host
        for path in ("/api/boom", "/api/nothing", "/api/nope"):
            http("GET", path)
        assert http("GET", "/api/text").status == 200


class TestIndexing:
    def test_http_functions_are_found_with_methods_and_bindings(self) -> None:
        functions = {f.name: f for f in http_functions(load_app(APPS / "http"))}
        start = functions["http_start"]
        assert start.methods == frozenset({"POST"})
        assert start.client_params == ["client"]
        assert start.is_async
        assert functions["files"].methods is None
        assert not functions["item_by_id"].is_async

    def test_an_invalid_route_is_left_out_and_logged(self, tmp_path, caplog) -> None:
        (tmp_path / "function_app.py").write_text(
            "import azure.functions as func\n"
            "app = func.FunctionApp()\n"
            "@app.route(route='x/{id:nonsense}')\n"
            "def bad(req): return 'x'\n"
            "@app.route(route='ok')\n"
            "def good(req): return 'x'\n"
        )
        with caplog.at_level(logging.ERROR, logger="devhost"):
            names = [f.name for f in http_functions(load_app(tmp_path))]
        assert names == ["good"]
        assert "function bad is not served" in caplog.text


class TestClientBinding:
    def test_the_binding_has_what_the_sdk_client_reads(self) -> None:
        binding = client_binding(
            "http://127.0.0.1:7071", "MyHub", "http://127.0.0.1:7071/durabletask/"
        )
        assert binding["taskHubName"] == "MyHub"
        assert binding["rpcBaseUrl"] == "http://127.0.0.1:7071/durabletask/"
        urls = binding["managementUrls"]
        assert isinstance(urls, dict)
        assert urls["id"] == "INSTANCEID"
        assert urls["statusQueryGetUri"] == (
            "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/INSTANCEID"
            "?taskHub=MyHub&connection=Storage"
        )
        assert json.loads(json.dumps(binding)) == binding

    def test_the_sdk_client_builds_its_links_from_it(self) -> None:
        import azure.durable_functions as df

        binding = client_binding(
            "http://127.0.0.1:7071", "Hub", "http://127.0.0.1:7071/durabletask/"
        )
        client = df.DurableOrchestrationClient(json.dumps(binding))
        links = client.create_http_management_payload("abc")
        assert links["id"] == "abc"
        assert links["sendEventPostUri"].startswith(
            "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/abc/raiseEvent/{eventName}?"
        )


@pytest.mark.parametrize(
    "path", ["/runtime/webhooks/durabletask/instances/x", "/durabletask/instances/x"]
)
def test_the_durable_api_is_served_on_both_bases(http_host, path: str) -> None:
    _, http = http_host
    assert http("GET", path).status == 404  # unknown instance, answered by the API


def test_a_path_with_an_encoded_newline_reaches_the_app_router(http_host) -> None:
    """Every path goes through devhost's dispatcher (an unmatched one is the host's empty 404)."""
    _, http = http_host
    response = http("GET", "/api/no/such/route%0A")
    assert response.status == 404
    assert response.body == b""
