"""LeanBatchTableClient's transactions behave exactly as the Table SDK's own, on Azurite, over
the SDK's transport and over LoopbackTransport."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import EntityProperty, TableClient, TableTransactionError

from shared.loopback_transport import LoopbackTransport
from shared.table_batch import LeanBatchTableClient

pytestmark = pytest.mark.azurite

CLIENTS = [
    (TableClient, False),
    (LeanBatchTableClient, False),
    (LeanBatchTableClient, True),
]


@pytest.fixture(params=CLIENTS, ids=lambda p: p[0].__name__ + ("-loopback" if p[1] else ""))
def table(request: pytest.FixtureRequest, azurite: str) -> Iterator[TableClient]:
    cls, loopback = request.param
    options: dict[str, Any] = {"transport": LoopbackTransport()} if loopback else {}
    client = cls.from_connection_string(
        azurite, table_name=f"batch{uuid.uuid4().hex[:12]}", use_env_settings=False, **options
    )
    client.create_table()
    yield client
    client.delete_table()
    client.close()


def unchanged(etag: str) -> dict[str, Any]:
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


def test_a_mixed_transaction_commits_every_operation(table: TableClient) -> None:
    """create, upsert, update (with ETag) and delete in one go; the answer lists new ETags."""
    key = "it's a key"  # quotes and spaces must survive the URL of each operation
    old = table.create_entity({"PartitionKey": key, "RowKey": "old"})
    gone = table.create_entity({"PartitionKey": key, "RowKey": "gone"})
    when = datetime(2026, 11, 25, 12, 30, 15, 123456, tzinfo=UTC)
    text = "héllo\r\n--changeset_x"  # a body line that looks like a boundary
    answers = table.submit_transaction(
        [
            ("create", {"PartitionKey": key, "RowKey": "new", "text": text, "at": when}),
            ("upsert", {"PartitionKey": key, "RowKey": "up", "count": 2**31 - 1}),
            ("update", {"PartitionKey": key, "RowKey": "old", "on": True}, unchanged(old["etag"])),
            ("delete", {"PartitionKey": key, "RowKey": "gone"}, unchanged(gone["etag"])),
        ]
    )
    assert [sorted(answer) for answer in answers] == [["etag"], ["etag"], ["etag"], []]
    created = table.get_entity(key, "new")
    assert created["text"] == text and created["at"] == when
    assert created.metadata["etag"] == answers[0]["etag"]
    assert table.get_entity(key, "up")["count"] == 2**31 - 1
    assert table.get_entity(key, "old")["on"] is True
    with pytest.raises(ResourceNotFoundError):
        table.get_entity(key, "gone")


def test_a_duplicate_create_rejects_the_whole_transaction_and_names_its_index(
    table: TableClient,
) -> None:
    table.create_entity({"PartitionKey": "p", "RowKey": "taken"})
    with pytest.raises(TableTransactionError) as raised:
        table.submit_transaction(
            [
                ("create", {"PartitionKey": "p", "RowKey": "fresh"}),
                ("create", {"PartitionKey": "p", "RowKey": "taken"}),
            ]
        )
    assert raised.value.index == 1
    assert str(raised.value.error_code) == "EntityAlreadyExists"
    assert raised.value.status_code == 409
    assert list(table.query_entities("RowKey eq 'fresh'")) == []  # nothing was written


def test_a_stale_etag_rejects_the_transaction(table: TableClient) -> None:
    old = table.create_entity({"PartitionKey": "p", "RowKey": "row", "n": 1})
    table.update_entity({"PartitionKey": "p", "RowKey": "row", "n": 2})
    with pytest.raises(TableTransactionError) as raised:
        table.submit_transaction(
            [("update", {"PartitionKey": "p", "RowKey": "row", "n": 3}, unchanged(old["etag"]))]
        )
    assert raised.value.index == 0
    assert str(raised.value.error_code) == "UpdateConditionNotSatisfied"
    assert raised.value.status_code == 412
    assert table.get_entity("p", "row")["n"] == 2


def test_deleting_a_missing_entity_rejects_the_transaction(table: TableClient) -> None:
    with pytest.raises(TableTransactionError) as raised:
        table.submit_transaction([("delete", {"PartitionKey": "p", "RowKey": "never"})])
    assert str(raised.value.error_code) == "ResourceNotFound"
    assert raised.value.status_code == 404


def test_the_lean_client_sends_its_own_body(azurite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the override: if the SDK stopped routing transactions through ``_batch_send``,
    the lean client would silently fall back to the slow path."""
    import shared.table_batch as table_batch

    calls = []
    real_encode = table_batch.encode_batch

    def counting_encode(*args: Any) -> bytes:
        calls.append(args)
        return real_encode(*args)

    monkeypatch.setattr(table_batch, "encode_batch", counting_encode)
    client = LeanBatchTableClient.from_connection_string(
        azurite, table_name=f"batch{uuid.uuid4().hex[:12]}"
    )
    client.create_table()
    try:
        client.submit_transaction([("create", {"PartitionKey": "p", "RowKey": "r"})])
    finally:
        client.delete_table()
        client.close()
    assert len(calls) == 1


def test_values_the_lean_writer_leaves_to_the_sdk_still_commit(table: TableClient) -> None:
    """Bytes, a GUID and an explicitly typed string are written by the SDK's own request
    builders (shared.table_operations declines them), in the same transaction code."""
    guid = uuid.uuid4()
    table.submit_transaction(
        [
            ("create", {"PartitionKey": "p", "RowKey": "b", "raw": b"\x00\xff", "id": guid}),
            (
                "upsert",
                {"PartitionKey": "p", "RowKey": "s", "n": EntityProperty("7", "Edm.String")},
            ),
        ]
    )
    stored = table.get_entity("p", "b")
    assert stored["raw"] == b"\x00\xff" and stored["id"] == guid
    assert table.get_entity("p", "s")["n"] == "7"


def test_invalid_operations_fail_as_the_sdk_fails(table: TableClient) -> None:
    with pytest.raises(TypeError):
        table.submit_transaction([("create", {"PartitionKey": "p", "RowKey": "r", "n": 2**31})])
    with pytest.raises(ValueError, match="Partition Keys"):
        table.submit_transaction(
            [
                ("create", {"PartitionKey": "p", "RowKey": "r"}),
                ("create", {"PartitionKey": "q", "RowKey": "r"}),
            ]
        )
