"""The durable HTTP API's start and restart answer as the Azure host's.

Sources (see each test): src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs and
ContextImplementations/DurableClient.cs (azure-functions-durable-extension 3.x, the 2025 line
extension bundle 4.38.0 takes), OverridableStates.cs and DurableTaskExtension.cs (same repo,
branch v3.x, 3.0.0), src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs
(durabletask, DurableTask.AzureStorage 2.9.0), and the Python SDK's DurableOrchestrationClient.py
(azure-functions-durable 1.7.0).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.clock import WallClock
from devhost.config import HostConfig
from devhost.instance import COMPLETED, RUNNING
from devhost.testing import DevHost
from tests.devhost.conftest import Http

APP = Path(__file__).parents[1] / "apps" / "fidelity_http_api"
API = "/runtime/webhooks/durabletask"
GENERIC = "Something went wrong while processing your request"
ARGUMENTS = "One or more of the arguments submitted is incorrect"


def serve(states: str) -> Iterator[tuple[DevHost, Http]]:
    config = dataclasses.replace(HostConfig.load(APP), overridable_existing_instance_states=states)
    with DevHost(APP, clock=WallClock(), config=config) as host:
        http = Http(host.serve_http())
        http("POST", "/api/flaky/on")  # the app module, and so this switch, outlives a test
        yield host, http


@pytest.fixture
def api() -> Iterator[tuple[DevHost, Http]]:
    """The fixture app as host.json configures it: overridableExistingInstanceStates
    NonRunningStates."""
    yield from serve("NonRunningStates")


@pytest.fixture
def any_state_api() -> Iterator[tuple[DevHost, Http]]:
    yield from serve("AnyState")


def start_waiting(host: DevHost, http: Http, instance_id: str) -> None:
    assert http("POST", f"{API}/orchestrators/waiting/{instance_id}").status == 202
    host.wait_for(instance_id, RUNNING)


def test_a_duplicate_start_under_non_running_states_is_500(api) -> None:
    """AzureStorageOrchestrationService.CreateTaskOrchestrationAsync (DurableTask.AzureStorage
    2.9.0) throws OrchestrationAlreadyExistsException for a Running/Pending/Suspended/
    ContinuedAsNew instance; HttpApiHandler.cs (ext 3.x) answers any non-argument exception 500."""
    host, http = api
    start_waiting(host, http, "dup")
    response = http("POST", f"{API}/orchestrators/waiting/dup")
    assert response.status == 500
    body = response.json()
    assert body["Message"] == GENERIC
    assert body["ExceptionMessage"] == (
        "An Orchestration instance with the status Running already exists."
    )
    assert body["ExceptionType"] == (
        "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"
    )
    assert "StackTrace" in body


def test_the_sdk_client_raises_the_500_body_on_a_duplicate_start(api) -> None:
    """DurableOrchestrationClient.start_new (azure-functions-durable 1.7.0) raises
    ``Exception(<response body>)`` for any status but 202 and 400."""
    host, http = api
    start_waiting(host, http, "sdk-dup")
    response = http("POST", "/api/sdk/start/waiting?id=sdk-dup")
    raised = response.json()["raised"]
    assert "OrchestrationAlreadyExistsException" in raised
    assert "An Orchestration instance with the status Running already exists." in raised


def test_a_duplicate_start_under_any_state_replaces_the_instance(any_state_api) -> None:
    """OverridableStates.ToDedupeStatuses (ext v3.x): AnyState dedupes nothing, so the start
    creates a new execution of the running instance."""
    host, http = any_state_api
    start_waiting(host, http, "again")
    first = host.state("again").execution_id
    response = http("POST", f"{API}/orchestrators/waiting/again")
    assert (response.status, response.json()["id"]) == (202, "again")
    assert host.state("again").execution_id != first


def test_a_start_over_a_finished_instance_replaces_it(api) -> None:
    """OverridableStates.cs (ext v3.x): NonRunningStates dedupes only Running, ContinuedAsNew,
    Pending and Suspended, so a finished instance is started again."""
    host, http = api
    assert http("POST", f"{API}/orchestrators/ignores_input/done").status == 202
    host.wait_for("done")
    assert http("POST", f"{API}/orchestrators/ignores_input/done").status == 202
    assert host.wait_for("done").runtime_status == COMPLETED


def test_restart_with_the_same_id_of_a_running_instance_is_500(api) -> None:
    """DurableClient.RestartAsync (ext 3.x) starts with the same id; the dedupe exception is not
    an ArgumentException, so HttpApiHandler.HandleRestartInstanceRequestAsync lets it become 500."""
    host, http = api
    start_waiting(host, http, "r1")
    response = http("POST", f"{API}/instances/r1/restart?restartWithNewInstanceId=false")
    assert response.status == 500
    assert response.json()["ExceptionMessage"] == (
        "An Orchestration instance with the status Running already exists."
    )


def test_restart_with_the_same_id_under_any_state_replaces_it(any_state_api) -> None:
    """OverridableStates.ToDedupeStatuses (ext v3.x) with AnyState: nothing is refused."""
    host, http = any_state_api
    start_waiting(host, http, "r2")
    response = http("POST", f"{API}/instances/r2/restart?restartWithNewInstanceId=false")
    assert (response.status, response.json()["id"]) == (202, "r2")


def test_restart_defaults_to_a_new_instance_id_with_the_same_input(api) -> None:
    """IDurableOrchestrationClient.RestartAsync(instanceId, restartWithNewInstanceId = true)
    and DurableClient.RestartAsync (ext 3.x): StartNewAsync(status.Name, status.Input) under a
    new Guid ("N" format)."""
    host, http = api
    http("POST", f"{API}/orchestrators/echo_input/first", json_body={"a": 1})
    host.wait_for("first")
    response = http("POST", f"{API}/instances/first/restart")
    assert response.status == 202
    new_id = response.json()["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    assert host.wait_for(new_id).runtime_status == COMPLETED
    assert host.output(new_id) == {"value": {"a": 1}, "type": "dict"}


def test_restart_of_an_unknown_instance_is_400_with_the_extension_texts(api) -> None:
    """DurableClient.RestartAsync throws ArgumentException("An orchestrastion with the
    instanceId {id} was not found.") (sic); HandleRestartInstanceRequestAsync (ext 3.x) answers
    it with "InstanceId does not match a valid orchestration instance."."""
    _, http = api
    response = http("POST", f"{API}/instances/nope/restart")
    assert response.status == 400
    body = response.json()
    assert body["Message"] == "InstanceId does not match a valid orchestration instance."
    assert body["ExceptionMessage"] == "An orchestrastion with the instanceId nope was not found."
    assert body["ExceptionType"] == "System.ArgumentException"


def test_an_id_starting_with_at_is_400(api) -> None:
    """DurableClient.StartNewAsync (ext 3.x) throws ArgumentException(nameof(instanceId), "...")
    with the arguments swapped, so the message is ``instanceId (Parameter '...')``."""
    _, http = api
    response = http("POST", f"{API}/orchestrators/waiting/@entity")
    assert response.status == 400
    assert response.json()["Message"] == ARGUMENTS
    assert response.json()["ExceptionMessage"] == (
        "instanceId (Parameter 'Orchestration instance ids must not start with @.')"
    )


def test_an_id_with_a_reserved_or_control_character_is_400(api) -> None:
    """DurableClient.IsInvalidCharacter (ext 3.x): / \\ ? # and char.IsControl; the decoded
    path (HttpApiHandler.cs: WebUtility.UrlDecode) can carry ? # \\ and control characters."""
    _, http = api
    for encoded in ("a%3Fb", "a%23b", "a%5Cb", "a%0Ab", "a%C2%85b"):
        response = http("POST", f"{API}/orchestrators/waiting/{encoded}")
        assert response.status == 400, encoded
        assert response.json()["ExceptionMessage"] == (
            "instanceId (Parameter 'Orchestration instance ids must not contain /, \\, #, ?, "
            "or control characters.')"
        )


def test_an_id_longer_than_256_characters_is_400(api) -> None:
    """DurableClient.MaxInstanceIdLength = 256 (ext 3.x), counted in UTF-16 code units."""
    _, http = api
    assert http("POST", f"{API}/orchestrators/ignores_input/{'a' * 256}").status == 202
    response = http("POST", f"{API}/orchestrators/ignores_input/{'b' * 257}")
    assert response.status == 400
    assert response.json()["ExceptionMessage"] == (
        "Instance ID lengths must not exceed 256 characters."
    )
    # An astral character is two UTF-16 code units.
    emoji = "%F0%9F%98%80" * 128 + "x"
    assert http("POST", f"{API}/orchestrators/ignores_input/{emoji}").status == 400


def test_an_unknown_orchestrator_is_400_naming_the_known_ones_before_the_id_check(api) -> None:
    """DurableTaskExtension.ThrowIfFunctionDoesNotExist / GetInvalidOrchestratorFunctionMessage
    (ext v3.x), called first in DurableClient.StartNewAsync (ext 3.x)."""
    _, http = api
    response = http("POST", f"{API}/orchestrators/nope/@bad")
    assert response.status == 400
    message = response.json()["ExceptionMessage"]
    assert message.startswith(
        "The function 'nope' doesn't exist, is disabled, or is not an orchestrator function. "
        "Additional info: The following are the known orchestrator functions: 'waiting', "
    )


def test_a_polling_interval_above_the_timeout_is_400_after_the_start(api) -> None:
    """HttpApiHandler.WaitForCompletionOrCreateCheckStatusResponseAsync (ext 3.x) throws
    ArgumentException("Total timeout {t} should be bigger than retry timeout {p}") - after
    HandleStartOrchestratorRequestAsync has started the instance."""
    host, http = api
    response = http("POST", f"{API}/orchestrators/waiting/slow?timeout=1&pollingInterval=2.5")
    assert response.status == 400
    assert response.json()["Message"] == ARGUMENTS
    assert response.json()["ExceptionMessage"] == (
        "Total timeout 1 should be bigger than retry timeout 2.5"
    )
    assert host.wait_for("slow", RUNNING).name == "waiting"


def test_a_nan_timeout_is_400_after_the_start(api) -> None:
    """TimeSpan.FromSeconds(NaN) throws ArgumentException in
    HttpApiHandler.TryGetTimeSpanQueryParameterValue (ext 3.x), after the start."""
    host, http = api
    response = http("POST", f"{API}/orchestrators/waiting/nan?timeout=NaN&pollingInterval=1")
    assert response.status == 400
    assert response.json()["ExceptionMessage"] == (
        "TimeSpan does not accept floating point Not-a-Number values."
    )
    assert host.wait_for("nan", RUNNING)


def test_wait_for_a_failure_is_the_status_with_200(api) -> None:
    """WaitForCompletionOrCreateCheckStatusResponseAsync (ext 3.x) answers Failed with
    HandleGetStatusRequestAsync(returnInternalServerErrorOnFailure: false)."""
    _, http = api
    query = "?timeout=10&pollingInterval=1&returnInternalServerErrorOnFailure=true"
    response = http("POST", f"{API}/orchestrators/raises{query}")
    assert response.status == 200
    assert response.json()["runtimeStatus"] == "Failed"


def test_the_check_status_urls_carry_the_url_encoded_id(api) -> None:
    """HttpApiHandler.GetClientResponseLinks (ext 3.x) puts the id through WebUtility.UrlEncode
    (a space becomes +), and HandleRequestAsync decodes the path the same way."""
    host, http = api
    response = http("POST", f"{API}/orchestrators/waiting/a%20b%2Fc")
    # %2F decodes to "/", which splits the id: no start route matches.
    assert response.status == 404
    response = http("POST", f"{API}/orchestrators/waiting/order%201%2Bx")
    body = response.json()
    assert body["id"] == "order 1 x"
    assert "/instances/order+1+x?" in body["statusQueryGetUri"]
    host.wait_for("order 1 x", RUNNING)
    assert http("GET", body["statusQueryGetUri"]).status == 202
    assert http("GET", f"{API}/instances/order%201%20x").status == 202


def test_the_status_name_is_the_casing_the_caller_used(api) -> None:
    """DurableClient.StartNewAsync (ext 3.x) resolves the function case-insensitively
    (FunctionName.Equals: OrdinalIgnoreCase) but records the caller's string as the name."""
    host, http = api
    response = http("POST", f"{API}/orchestrators/IGNORES_INPUT/cased")
    assert response.status == 202
    state = host.wait_for("cased")
    assert state.name == "IGNORES_INPUT"
    assert state.runtime_status == COMPLETED
    assert http("GET", f"{API}/instances/cased").json()["name"] == "IGNORES_INPUT"
