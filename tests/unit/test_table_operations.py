"""shared.table_operations writes exactly the sub-requests the Table SDK builds, and declines
(None) whatever it does not write, so the SDK then builds the batch itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.data.tables import EdmType, EntityProperty, TableClient, UpdateMode
from azure.data.tables._table_batch import TableBatchOperations

from shared.table_operations import sub_requests

CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
ACCOUNT_URL = "http://127.0.0.1:10002/devstoreaccount1"
TABLE = "Orders"


def sdk_requests(operations: list[Any]) -> list[tuple[str, str, dict[str, str], Any]]:
    """What the SDK's own submit_transaction would hand to _batch_send (azure-data-tables'
    _table_client.py builds a TableBatchOperations the same way)."""
    client = TableClient.from_connection_string(CONNECTION, TABLE)
    batch = TableBatchOperations(
        config=client._client._config,
        endpoint=f"{client.scheme}://{client._primary_hostname}",
        table_name=client.table_name,
    )
    for operation in operations:
        batch.add_operation(operation)
    return [_plain(r.method, r.url, dict(r.headers), r.content) for r in batch.requests]


def ours(operations: list[Any]) -> list[tuple[str, str, dict[str, str], Any]] | None:
    parts = sub_requests(ACCOUNT_URL, TABLE, "2019-02-02", operations)
    if parts is None:
        return None
    return [_plain(p.method, p.url, dict(p.headers), p.content) for p in parts]


def _plain(method: str, url: str, headers: dict[str, str], content: Any) -> Any:
    body = json.loads(content) if content else None
    return method, url, headers, body


def unchanged(etag: str) -> dict[str, Any]:
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


KEY = "it's a/key with ü:~%"
WHEN = datetime(2026, 11, 27, 13, 30, 15, 123456, tzinfo=UTC)
VALUES = {
    "text": "héllo\r\n--changeset_x",
    "on": True,
    "off": False,
    "count": 2**31 - 1,
    "low": -(2**31),
    "ratio": 0.25,
    "at": WHEN,
    "elsewhere": WHEN.astimezone(timezone(timedelta(hours=-5))),
    "big": EntityProperty(2**40, EdmType.INT64),
    "nothing": None,
}

SAME = [
    pytest.param([("create", {"PartitionKey": KEY, "RowKey": KEY, **VALUES})], id="create"),
    pytest.param(
        [("upsert", {"PartitionKey": "p", "RowKey": "r", **VALUES}, {"mode": UpdateMode.REPLACE})],
        id="upsert-replace",
    ),
    pytest.param([("upsert", {"PartitionKey": "p", "RowKey": "r", "n": 1})], id="upsert-merge"),
    pytest.param(
        [
            (
                "update",
                {"PartitionKey": "p", "RowKey": KEY, "n": 1},
                {"mode": UpdateMode.REPLACE, **unchanged("W/\"datetime'2026'\"")},
            )
        ],
        id="update-replace-etag",
    ),
    pytest.param(
        [("update", {"PartitionKey": "p", "RowKey": "r", "n": 1}, {"mode": "merge"})],
        id="update-merge-any",
    ),
    pytest.param(
        [("delete", {"PartitionKey": "p", "RowKey": "r"}, unchanged('W/"x"'))], id="delete-etag"
    ),
    pytest.param([("DELETE", {"PartitionKey": "p", "RowKey": "r"})], id="delete-any"),
    pytest.param(
        [
            ("create", {"PartitionKey": "p", "RowKey": "a", "s": "x"}),
            ("update", {"PartitionKey": "p", "RowKey": "b", "n": 2}, unchanged('W/"y"')),
            ("delete", {"PartitionKey": "p", "RowKey": "c"}),
        ],
        id="mixed",
    ),
]


@pytest.mark.parametrize("operations", SAME)
def test_each_sub_request_is_the_one_the_sdk_builds(operations: list[Any]) -> None:
    assert ours(operations) == sdk_requests(operations)


DECLINED = [
    pytest.param([], id="no operations"),
    pytest.param([("create", {"PartitionKey": "p", "RowKey": "r", "n": 2**31})], id="int64 int"),
    pytest.param([("create", {"PartitionKey": "p", "RowKey": "r", "b": b"x"})], id="bytes"),
    pytest.param([("create", {"PartitionKey": "p", "RowKey": "r", "f": float("nan")})], id="nan"),
    pytest.param(
        [("create", {"PartitionKey": "p", "RowKey": "r", "t": datetime(2026, 1, 1)})],
        id="naive datetime",
    ),
    pytest.param(
        [
            (
                "create",
                {"PartitionKey": "p", "RowKey": "r", "t": EntityProperty("x", EdmType.STRING)},
            )
        ],
        id="typed string",
    ),
    pytest.param(
        [("create", {"PartitionKey": "p", "RowKey": "r", "e": UpdateMode.MERGE})], id="enum"
    ),
    pytest.param([("create", {"PartitionKey": 1, "RowKey": "r"})], id="non-string key"),
    pytest.param([("create", {"PartitionKey": "p"})], id="no row key"),
    pytest.param(
        [
            ("create", {"PartitionKey": "p", "RowKey": "r"}),
            ("create", {"PartitionKey": "q", "RowKey": "r"}),
        ],
        id="two partitions",
    ),
    pytest.param(
        [("create", {"PartitionKey": "p", "RowKey": "r"}, {"timeout": 5})], id="create with options"
    ),
    pytest.param(
        [
            (
                "update",
                {"PartitionKey": "p", "RowKey": "r"},
                {"match_condition": MatchConditions.IfNotModified},
            )
        ],
        id="condition, no etag",
    ),
    pytest.param(
        [
            (
                "delete",
                {"PartitionKey": "p", "RowKey": "r"},
                {"etag": 'W/"x"', "match_condition": MatchConditions.IfModified},
            )
        ],
        id="if-modified",
    ),
    pytest.param([("replace", {"PartitionKey": "p", "RowKey": "r"})], id="unknown kind"),
    pytest.param([["create", {"PartitionKey": "p", "RowKey": "r"}]], id="a list, not a tuple"),
]


@pytest.mark.parametrize("operations", DECLINED)
def test_anything_else_is_left_to_the_sdk(operations: list[Any]) -> None:
    assert ours(operations) is None
