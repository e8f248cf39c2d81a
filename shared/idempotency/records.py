"""Ledger records and the rows, operations and keys the ledger works with."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from shared.errors import IdempotencyConflict

Outcome = Literal["applied", "tombstone"]
Entity = dict[str, Any]

RECORD_PREFIX = "idem:"
RECORDS_END = RECORD_PREFIX[:-1] + chr(ord(RECORD_PREFIX[-1]) + 1)  # first key after the range
MAX_BATCH_OPS = 100
MAX_RESULT_CHARS = 30_000  # a string property holds 64 KiB = 32K UTF-16 units; keep a margin
PROPERTY_TYPES = (str, int, float, bool, datetime, bytes, UUID)
_MAX_KEY_UTF16_UNITS = 512  # PartitionKey and RowKey hold at most 1 KiB each
# Forbidden in keys by the service, plus '%', which it decodes twice in point-read URLs.
_UNSAFE_IN_KEYS = re.compile("[/\\\\#?%\x00-\x1f\x7f-\x9f]")


def utc_now() -> datetime:
    return datetime.now(UTC)


COMPENSATION_SUFFIX = ":compensate"


def compensation_key(action_key: str) -> str:
    """The idempotency key of the compensation of the action with this key."""
    return f"{action_key}{COMPENSATION_SUFFIX}"


@dataclass(frozen=True)
class LedgerRecord:
    """A key's stored outcome: `applied` with the transaction's result, or a `tombstone`."""

    key: str
    outcome: Outcome
    result: Any
    created_at: datetime


@dataclass(frozen=True)
class Row:
    entity: Entity
    etag: str


@dataclass(frozen=True)
class Op:
    kind: Literal["create", "upsert", "update", "delete"]
    entity: Entity  # with PartitionKey and RowKey
    etag: str | None = None


class Conflict(Exception):
    """Operation `index` of a batch met a row that changed since it was read; nothing written."""

    def __init__(self, index: int) -> None:
        super().__init__(f"operation {index} conflicted")
        self.index = index


class Store(Protocol):
    def fetch(self, partition: str, row_keys: Sequence[str]) -> dict[str, Row]: ...

    def commit(self, partition: str, ops: Sequence[Op]) -> list[str]:
        """Apply ``ops`` all or none (raises Conflict); each one's new ETag ("" for a delete)."""
        ...

    def records_before(self, cutoff: datetime) -> list[tuple[str, str]]: ...

    def delete(self, partition: str, row_keys: Sequence[str]) -> int: ...


def check_key(what: str, value: Any, *, business: bool = False) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if match := _UNSAFE_IN_KEYS.search(value):
        raise ValueError(f"{what} {value!r} contains {match.group()!r}, which keys cannot hold")
    if len(value.encode("utf-16-le")) // 2 > _MAX_KEY_UTF16_UNITS:
        raise ValueError(f"{what} {value[:40]!r}... is longer than 1 KiB")
    if business and value.startswith(RECORD_PREFIX):
        raise ValueError(f"{what} {value!r}: the prefix {RECORD_PREFIX!r} is the ledger's")
    return value


def record_row_key(key: str) -> str:
    check_key("idempotency key", key)
    return check_key("idempotency key", RECORD_PREFIX + key)


def hash_of_request(request: Any) -> str | None:
    if request is None:
        return None
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_of(row: Row) -> LedgerRecord:
    entity = row.entity
    return LedgerRecord(
        entity["key"], entity["outcome"], json.loads(entity["result"]), entity["createdAt"]
    )


def replay_record(row: Row, request_hash: str | None) -> LedgerRecord:
    record = record_of(row)
    stored_hash = row.entity.get("requestHash")
    if request_hash and stored_hash and stored_hash != request_hash:
        raise IdempotencyConflict(record.key)
    return record
