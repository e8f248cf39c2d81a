"""The short pipeline for storage on this machine: Azurite accepts what SharedKeySigner signs
(and refuses a wrong key), the SDK's calls work through it, and what it leaves out comes back
when someone switches it on."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.policies import (
    DistributedTracingPolicy,
    HttpLoggingPolicy,
    UserAgentPolicy,
)
from azure.core.rest import HttpRequest
from azure.core.settings import settings
from azure.data.tables import TableClient
from azure.data.tables._authentication import SharedKeyCredentialPolicy

from shared import storage
from shared.loopback_pipeline import SharedKeySigner, loopback_policies
from shared.table_batch import table_client_class

KEY = "a2V5LWZvci10ZXN0cw=="


def policy_types(connection_string: str) -> list[type]:
    return [type(p) for p in storage.client_options(connection_string).get("policies", [])]


@pytest.fixture
def table(azurite: str) -> Iterator[TableClient]:
    client = table_client_class().from_connection_string(
        azurite, f"pipe{uuid.uuid4().hex[:12]}", **storage.client_options(azurite)
    )
    client.create_table()
    yield client
    client.delete_table()
    client.close()


@pytest.mark.azurite
def test_every_kind_of_call_the_app_makes_works_through_it(table: TableClient) -> None:
    sent: dict[str, str] = {}
    table.create_entity(
        {"PartitionKey": "p", "RowKey": "a", "n": 1},
        raw_request_hook=lambda request: sent.update(request.http_request.headers),
    )
    assert "User-Agent" not in sent  # the short pipeline's, seen through a per-call hook
    assert sent["Authorization"].startswith("SharedKey devstoreaccount1:")
    table.submit_transaction(
        [("create", {"PartitionKey": "p", "RowKey": "b"}), ("upsert", {"PartitionKey": "p",
          "RowKey": "a", "n": 2})]
    )  # fmt: skip
    assert table.get_entity("p", "a")["n"] == 2
    found = table.query_entities("PartitionKey eq @p", parameters={"p": "p"}, results_per_page=1)
    assert sorted(e["RowKey"] for e in found) == ["a", "b"]  # two pages: continuation works
    table.delete_entity("p", "b")


@pytest.mark.azurite
def test_azurite_checks_the_signature(azurite: str) -> None:
    """So the tests above prove the signer right: with a wrong key nothing gets through."""
    options = storage.client_options(azurite)
    options["policies"] = loopback_policies("devstoreaccount1", KEY)
    client = table_client_class().from_connection_string(azurite, "nosuchtable", **options)
    with pytest.raises((ClientAuthenticationError, HttpResponseError)) as raised:
        client.get_entity("p", "r")
    assert raised.value.status_code == 403


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("GET", "http://127.0.0.1:10002/acct/T(PartitionKey='a%27%27b',RowKey='r')", {}),
        ("POST", "http://127.0.0.1:10002/acct/$batch", {"Content-Type": "multipart/mixed; b=x"}),
        ("GET", "http://127.0.0.1:10002/acct/?restype=service&comp=properties", {}),
        ("PUT", "http://127.0.0.1:10002/acct/T", {"Content-Type": "application/json",
                                                  "Content-MD5": "abc=="}),
    ],
)  # fmt: skip
def test_the_signature_is_the_sdks(method: str, url: str, headers: dict[str, str]) -> None:
    ours = HttpRequest(method, url, headers=dict(headers))
    SharedKeySigner("acct", KEY).on_request(PipelineRequest(ours, PipelineContext(None)))
    theirs = HttpRequest(method, url, headers={**headers, "x-ms-date": ours.headers["x-ms-date"]})
    credential: Any = type("Key", (), {"named_key": type("N", (), {"name": "acct", "key": KEY})})
    SharedKeyCredentialPolicy(credential).on_request(PipelineRequest(theirs, PipelineContext(None)))
    assert ours.headers["Authorization"] == theirs.headers["Authorization"]


def test_only_storage_on_this_machine_with_a_key_gets_the_short_pipeline() -> None:
    assert SharedKeySigner in policy_types("UseDevelopmentStorage=true")
    assert SharedKeySigner in policy_types(
        f"AccountName=a;AccountKey={KEY};TableEndpoint=https://localhost:10002/a;"
    )
    assert (
        policy_types(
            f"DefaultEndpointsProtocol=https;AccountName=prod;AccountKey={KEY};"
            "EndpointSuffix=core.windows.net"
        )
        == []
    )
    assert policy_types("TableEndpoint=http://127.0.0.1:10002/a;SharedAccessSignature=sv=x") == []


def test_what_it_leaves_out_comes_back_when_switched_on() -> None:
    short = [type(p) for p in loopback_policies("a", KEY)]
    assert UserAgentPolicy not in short
    assert HttpLoggingPolicy not in short and DistributedTracingPolicy not in short
    http_logger = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    level = http_logger.level
    http_logger.setLevel(logging.INFO)
    settings.tracing_implementation.set_value(_Tracer)
    try:
        switched_on = [type(p) for p in loopback_policies("a", KEY)]
    finally:
        settings.tracing_implementation.unset_value()
        http_logger.setLevel(level)
    assert HttpLoggingPolicy in switched_on and DistributedTracingPolicy in switched_on


class _Tracer:
    """Stands for an azure-core tracing implementation (only its presence is read)."""


def test_the_app_keeps_the_sdks_request_traces_out_of_its_log() -> None:
    """The worker logs at INFO; the app sets the SDK's HTTP logger to WARNING (function_app.py),
    so a Table call adds no records to Application Insights, and the short pipeline on this
    machine leaves the logging policy out."""
    import function_app  # noqa: F401  (the app's wiring sets the level at import)

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        traces = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
        assert not traces.isEnabledFor(logging.INFO)
        assert traces.isEnabledFor(logging.WARNING)
        assert HttpLoggingPolicy not in [type(p) for p in loopback_policies("a", KEY)]
    finally:
        root.setLevel(level)
