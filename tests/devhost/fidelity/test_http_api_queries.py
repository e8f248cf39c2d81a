"""The durable HTTP API's status queries, paths and inputs answer as the Azure host's.

Sources (see each test): src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs
(azure-functions-durable-extension 3.x, the 2025 line extension bundle 4.38.0 takes),
AzureStorageDurabilityProvider.cs and Bindings/OrchestrationTriggerAttributeBindingProvider.cs
(branch v3.x, 3.0.0), and src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs
(DurableTask.AzureStorage 2.9.0).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.clock import WallClock
from devhost.instance import COMPLETED, FAILED, RUNNING
from devhost.testing import DevHost
from tests.devhost.conftest import Http

APP = Path(__file__).parents[1] / "apps" / "fidelity_http_api"
API = "/runtime/webhooks/durabletask"
TOKEN = "x-ms-continuation-token"


@pytest.fixture
def api() -> Iterator[tuple[DevHost, Http]]:
    with DevHost(APP, clock=WallClock()) as host:
        yield host, Http(host.serve_http())


def finished(host: DevHost, http: Http, *ids: str) -> None:
    for instance_id in ids:
        assert http("POST", f"{API}/orchestrators/ignores_input/{instance_id}").status == 202
    for instance_id in ids:
        host.wait_for(instance_id)


def test_the_continuation_header_is_always_sent_and_empty_on_the_last_page(api) -> None:
    """HttpApiHandler.HandleGetStatusRequestAsync (ext 3.x) always adds x-ms-continuation-token,
    with a null value (sent empty) when the storage query has no next page."""
    host, http = api
    finished(host, http, "a", "b", "c")
    first = http("GET", f"{API}/instances?top=2")
    assert [s["instanceId"] for s in first.json()] == ["a", "b"]
    assert first.headers[TOKEN]
    last = http("GET", f"{API}/instances?top=2", headers={TOKEN: first.headers[TOKEN]})
    assert [s["instanceId"] for s in last.json()] == ["c"]
    assert last.headers[TOKEN] == ""


def test_continuation_names_the_next_row_not_an_offset(api) -> None:
    """AzureStorageOrchestrationService.GetOrchestrationStateAsync (DurableTask.AzureStorage
    2.9.0) pages an Azure Tables query: the token is the next row's key, so rows purged between
    pages do not make the next page skip others."""
    host, http = api
    finished(host, http, "a", "b", "c", "d")
    first = http("GET", f"{API}/instances?top=2")
    http("DELETE", f"{API}/instances/a")
    rest = http("GET", f"{API}/instances?top=2", headers={TOKEN: first.headers[TOKEN]})
    assert [s["instanceId"] for s in rest.json()] == ["c", "d"]


def test_a_token_the_storage_rejects_is_500(api) -> None:
    """The Table service refuses a continuation key it did not issue; the storage exception
    escapes HttpApiHandler.HandleRequestAsync (ext 3.x) as a 500."""
    _, http = api
    response = http("GET", f"{API}/instances", headers={TOKEN: "garbage"})
    assert response.status == 500
    assert response.json()["Message"] == "Something went wrong while processing your request"


def test_a_page_size_outside_the_tables_limits_is_500(api) -> None:
    """``top`` becomes the Azure Tables $top (AzureStorageDurabilityProvider.cs, ext v3.x), which
    the Table service accepts from 1 to 1000; an unparsable ``top`` keeps the default 100."""
    host, http = api
    finished(host, http, "a")
    for top in ("0", "-1", "1001"):
        assert http("GET", f"{API}/instances?top={top}").status == 500, top
    assert http("GET", f"{API}/instances?top=many").status == 200


def test_runtime_status_unknown_is_400(api) -> None:
    """ConvertWebjobsDurableConditionToAzureStorageCondition (AzureStorageDurabilityProvider.cs,
    ext v3.x) Enum.Parses each OrchestrationRuntimeStatus into DurableTask.Core's
    OrchestrationStatus, which has no Unknown: an ArgumentException, answered 400."""
    _, http = api
    for value in ("Unknown", "-1", "Running,Unknown"):
        response = http("GET", f"{API}/instances?runtimeStatus={value}")
        assert response.status == 400, value
        assert response.json()["ExceptionMessage"] == "Requested value 'Unknown' was not found."


def test_a_plus_in_the_path_is_a_space(api) -> None:
    """HttpApiHandler.HandleRequestAsync (ext 3.x) matches routes on
    WebUtility.UrlDecode(AbsolutePath): ``+`` and ``%2B`` both read as a space, so an instance id
    with a ``+`` in it can never be created or addressed; the SDK client, which puts ids into
    URLs as they are, gets the id with a space back from start_new."""
    host, http = api
    response = http("POST", f"{API}/orchestrators/waiting/x%2By")
    assert response.json()["id"] == "x y"
    host.wait_for("x y", RUNNING)
    assert http("GET", f"{API}/instances/x+y").json()["instanceId"] == "x y"
    assert http("POST", "/api/sdk/start/waiting?id=p%2Bq").json() == {"id": "p q"}
    assert http("GET", "/api/sdk/status/p+q").json()["found"] is True
    assert {state.instance_id for state in host._hub.instances()} == {"x y", "p q"}


def test_a_webhook_start_with_an_array_body_breaks_get_input(api) -> None:
    """OrchestrationTriggerAttributeBindingProvider.OrchestrationContextToString (ext v3.x) sends
    the input as a JSON token; the SDK keeps a list as a list and its get_input() then fails
    (json.loads of a list). The status shows the array."""
    host, http = api
    response = http("POST", f"{API}/orchestrators/echo_input/arr", json_body=[1, 2])
    assert response.status == 202
    assert host.wait_for("arr").runtime_status == FAILED
    assert http("GET", f"{API}/instances/arr").json()["input"] == [1, 2]
    assert http("POST", f"{API}/orchestrators/ignores_input/num", json_body=5).status == 202
    assert host.wait_for("num").runtime_status == COMPLETED


def test_the_sdk_clients_input_shows_as_a_string_in_status(api) -> None:
    """DurableOrchestrationClient.start_new (azure-functions-durable 1.7.0) posts the input's
    JSON text as a JSON string; HttpApiHandler (ext 3.x) stores that string, so status.input is
    the text, while the orchestrator (given the string token) still reads the object."""
    host, http = api
    instance_id = http("POST", "/api/sdk/start/echo_input?id=sdk", json_body={"a": 1}).json()["id"]
    host.wait_for(instance_id)
    assert host.output(instance_id) == {"value": {"a": 1}, "type": "dict"}
    assert http("GET", f"{API}/instances/sdk").json()["input"] == '{"a": 1}'
    webhook = http("POST", f"{API}/orchestrators/echo_input/hook", json_body={"a": 1})
    assert webhook.status == 202
    host.wait_for("hook")
    assert http("GET", f"{API}/instances/hook").json()["input"] == {"a": 1}
