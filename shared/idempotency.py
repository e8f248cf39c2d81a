"""Idempotency ledger: a keyed local transaction takes effect once, atomically with its record.

The durable host delivers activities at least once, so each one writes through
`ledger.run_once(partition, key, transaction, reads=(...))`, which returns a `LedgerRecord`:

1. ONE read fetches the key's record (RowKey `idem:{key}`) together with the business rows named
   in `reads`, all from `partition`. If the record exists, it is returned and `transaction` is not
   called: a duplicate delivery has no second effect and gets the same answer.
2. Otherwise `transaction(uow)` reads rows with `uow.get` and stages writes: `create`, `update` and
   `delete` are conditional on what this unit of work read (absent, or unchanged since: ETags);
   `upsert` is unconditional. Whatever it returns, a business outcome such as OutOfStock as much as
   a success, becomes the record's result (stored as JSON, returned as its JSON round trip).
3. ONE entity-group transaction commits the record's `create` (operation 0) with the staged writes:
   both or neither. If operation 0 fails, a concurrent duplicate or a tombstone got there first
   and that record is returned. If a staged write fails because another writer changed or created
   the row since it was read, everything is read again and `transaction` re-run, up to
   `max_attempts` times with jittered backoff, then `ContentionExhausted` is raised.
An exception from `transaction` propagates and nothing is written.

Compensation: `compensate(partition, action_key, undo)` runs under `compensation_key(action_key)`.
It reads the action's record in the same query as its rows and, in one batch with its own record,
either stages `undo(uow, action_record)` when the action applied, or creates a *tombstone* record
for the action's key (`undo(uow, None)`) when it never did. A tombstone and a late action's record
are creates of the same row, so exactly one commits: a late action finds the tombstone and does
nothing; a compensation that loses the race re-runs, sees the action applied, and undoes it.
`undo` also receives records of actions that applied with a business failure (decide from
`record.result`; usually there is nothing to undo).

Layout: records live in the SAME table and partition as the rows they guard, because a batch
cannot span partitions. A record row holds `key`, `outcome` (applied | tombstone), `result` (JSON),
`createdAt`, and `requestHash` when the caller passed `request` (reusing a key for a different
request raises `IdempotencyConflict`). Business RowKeys must not start with `idem:`.

New rows: with `run_once(..., new_rows=True)` (a step that inserts rows, such as a new order) the
read is skipped. `transaction` runs as if every row in `reads` were absent; if it then creates
each of them, the batch is sent at once, and it fails if the record or any of those rows exists.
On such a failure, or when the transaction would not create them all or raises, the usual path
above runs (a duplicate is answered from the record it finds). So `transaction` must be free of
side effects other than staging: here it may run on that guess even for a duplicate, as it may
re-run on contention.

Round trips: one read plus one batch, or one read for a duplicate; with `new_rows`, one batch,
or the rejected batch and one read for a duplicate. The read is a point read when
nothing else is needed, else one query `RowKey eq a or RowKey eq b ...` in the partition, which
Table storage answers by scanning that partition: purging keeps partitions small. Rows read with
`uow.get` but not named in `reads` cost one point read each.

Retention: `purge_older_than` deletes records created before a cutoff. A purged record no longer
stops a duplicate, so purge only what no delivery, retry or replay can reach: the cutoff must be
older than the start of every saga that is not yet terminal (sagas waiting for approval or an
operator can be days old), minus a margin for deliveries still in flight.

Limits (Table storage): one partition, at most 100 operations per batch including the record,
result JSON at most 30,000 characters; exceeding one raises `TransactionTooLarge` before sending.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import (
    EdmType,
    EntityProperty,
    TableClient,
    TableEntity,
    TableTransactionError,
    UpdateMode,
)

from shared.errors import ContentionExhausted, IdempotencyConflict, TransactionTooLarge

Outcome = Literal["applied", "tombstone"]
Entity = dict[str, Any]

RECORD_PREFIX = "idem:"
MAX_BATCH_OPS = 100
MAX_RESULT_CHARS = 30_000  # a string property holds 64 KiB = 32K UTF-16 units; keep a margin
DEFAULT_MAX_ATTEMPTS = 20
_FIRST_BACKOFF_SECONDS = 0.002
_MAX_BACKOFF_SECONDS = 0.05
_MAX_KEY_UTF16_UNITS = 512  # PartitionKey and RowKey hold at most 1 KiB each
# Forbidden in keys by the service, plus '%', which it decodes twice in point-read URLs.
_UNSAFE_IN_KEYS = re.compile("[/\\\\#?%\x00-\x1f\x7f-\x9f]")
_PROPERTY_TYPES = (str, int, float, bool, datetime, bytes, UUID)
_CONFLICTS = {"EntityAlreadyExists", "UpdateConditionNotSatisfied", "ResourceNotFound"}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def compensation_key(action_key: str) -> str:
    """The idempotency key of the compensation of the action with this key."""
    return f"{action_key}:compensate"


@dataclass(frozen=True)
class LedgerRecord:
    """A key's stored outcome: `applied` with the transaction's result, or a `tombstone`."""

    key: str
    outcome: Outcome
    result: Any
    created_at: datetime


class Ledger(Protocol):
    """Runs keyed local transactions once; `TableLedger` in Azure, `MemoryLedger` in fast tests."""

    def run_once(
        self,
        partition: str,
        key: str,
        transaction: Callable[[UnitOfWork], Any],
        *,
        reads: Iterable[str] = (),
        request: Any = None,
        new_rows: bool = False,
    ) -> LedgerRecord: ...

    def compensate(
        self,
        partition: str,
        action_key: str,
        undo: Callable[[UnitOfWork, LedgerRecord | None], Any],
        *,
        reads: Iterable[str] = (),
    ) -> LedgerRecord: ...

    def tombstone(self, partition: str, key: str, result: Any = None) -> LedgerRecord: ...

    def record(self, partition: str, key: str) -> LedgerRecord | None: ...

    def get(self, partition: str, row_key: str) -> Entity | None: ...

    def purge_older_than(self, partition: str | None, cutoff: datetime) -> int: ...


@dataclass(frozen=True)
class _Row:
    entity: Entity
    etag: str


@dataclass(frozen=True)
class _Op:
    kind: Literal["create", "upsert", "update", "delete"]
    entity: Entity  # with PartitionKey and RowKey
    etag: str | None = None


class _Conflict(Exception):
    """Operation `index` of a batch met a row that changed since it was read; nothing written."""

    def __init__(self, index: int) -> None:
        super().__init__(f"operation {index} conflicted")
        self.index = index


class _Store(Protocol):
    def fetch(self, partition: str, row_keys: Sequence[str]) -> dict[str, _Row]: ...

    def commit(self, partition: str, ops: Sequence[_Op]) -> None: ...

    def purge(self, partition: str | None, cutoff: datetime) -> int: ...


_UNREAD = _Row({}, "")  # marks a row the unit of work has not read


class UnitOfWork:
    """One partition's rows as a transaction read them, and the writes it stages for the batch."""

    def __init__(self, store: _Store, partition: str, read: dict[str, _Row | None]) -> None:
        self.partition = partition
        self._store = store
        self._read = read
        self._staged: dict[str, _Op] = {}

    def get(self, row_key: str) -> Entity | None:
        """The row as stored (staged writes are not visible), or None if there is none."""
        _check_key("row key", row_key, business=True)
        row = self._read_row(row_key)
        return dict(row.entity) if row else None

    def create(self, entity: Mapping[str, Any]) -> None:
        """Stage inserting a row that `get` found absent."""
        full = self._complete(entity)
        if self._read.get(full["RowKey"], _UNREAD) is not None:
            raise ValueError(f"create {full['RowKey']!r}: get() it first and find it absent")
        self._stage(_Op("create", full))

    def update(self, entity: Mapping[str, Any]) -> None:
        """Stage replacing a row `get` returned, provided nobody has changed it since."""
        full = self._complete(entity)
        self._stage(_Op("update", full, self._etag_read("update", full["RowKey"])))

    def upsert(self, entity: Mapping[str, Any]) -> None:
        """Stage inserting or replacing a row whatever it holds now (last writer wins)."""
        self._stage(_Op("upsert", self._complete(entity)))

    def delete(self, row_key: str) -> None:
        """Stage deleting a row `get` returned, provided nobody has changed it since."""
        _check_key("row key", row_key, business=True)
        keys = {"PartitionKey": self.partition, "RowKey": row_key}
        self._stage(_Op("delete", keys, self._etag_read("delete", row_key)))

    def _read_row(self, row_key: str) -> _Row | None:
        if row_key not in self._read:
            self._read[row_key] = self._store.fetch(self.partition, [row_key]).get(row_key)
        return self._read[row_key]

    def _etag_read(self, verb: str, row_key: str) -> str:
        row = self._read.get(row_key, _UNREAD)
        if row is None or row is _UNREAD:
            raise ValueError(f"{verb} {row_key!r}: get() it first and find it present")
        return row.etag

    def _complete(self, entity: Mapping[str, Any]) -> Entity:
        row_key = entity.get("RowKey")
        _check_key("row key", row_key, business=True)
        if entity.get("PartitionKey", self.partition) != self.partition:
            raise ValueError(f"row {row_key!r} is not in partition {self.partition!r}")
        for name, value in entity.items():
            if not isinstance(value, _PROPERTY_TYPES) or (
                isinstance(value, int) and not -(2**63) <= value < 2**63
            ):
                raise TypeError(
                    f"property {name!r} of row {row_key!r} is a {type(value).__name__}; Table "
                    "storage holds str, int (64 bits), float, bool, datetime, bytes and UUID"
                )
        return {**entity, "PartitionKey": self.partition}

    def _stage(self, op: _Op) -> None:
        row_key = op.entity["RowKey"]
        if row_key in self._staged:
            raise ValueError(f"row {row_key!r} is staged twice; stage each row once")
        self._staged[row_key] = op


class _LedgerCore:
    """The ledger's algorithm, shared by both twins; they differ only in their `_Store`."""

    def __init__(
        self,
        store: _Store,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._store = store
        self._max_attempts = max_attempts
        self._clock = clock

    def run_once(
        self,
        partition: str,
        key: str,
        transaction: Callable[[UnitOfWork], Any],
        *,
        reads: Iterable[str] = (),
        request: Any = None,
        new_rows: bool = False,
    ) -> LedgerRecord:
        """Run `transaction` and commit its writes with the key's record, unless the key has one.

        ``new_rows=True`` says the rows in `reads` are normally absent and the transaction creates
        them: it is then committed without reading first (see the module docstring)."""
        row_keys = [_check_key("row key", row_key, business=True) for row_key in reads]
        request_hash = _request_hash(request)
        _check_key("partition", partition)
        if new_rows:
            record = self._commit_unread(partition, key, transaction, row_keys, request_hash)
            if record is not None:
                return record
        return self._run(partition, key, transaction, row_keys, request_hash)

    def compensate(
        self,
        partition: str,
        action_key: str,
        undo: Callable[[UnitOfWork, LedgerRecord | None], Any],
        *,
        reads: Iterable[str] = (),
    ) -> LedgerRecord:
        """Undo the action if it applied, else tombstone it; once, under its compensation key."""
        action_row = _record_row_key(action_key)

        def transaction(uow: UnitOfWork) -> Any:
            row = uow._read_row(action_row)
            if row is None:
                uow._stage(_Op("create", self._new_record(partition, action_key, "tombstone")[1]))
                return undo(uow, None)
            action = _record_of(row)
            return undo(uow, action if action.outcome == "applied" else None)

        row_keys = [action_row, *(_check_key("row key", k, business=True) for k in reads)]
        return self._run(partition, compensation_key(action_key), transaction, row_keys, None)

    def tombstone(self, partition: str, key: str, result: Any = None) -> LedgerRecord:
        """Record that the action with this key must never apply; if it already did, say so."""
        _check_key("partition", partition)
        for _ in range(self._max_attempts):
            record, entity = self._new_record(partition, key, "tombstone", result)
            try:
                self._store.commit(partition, [_Op("create", entity)])
                return record
            except _Conflict:
                stored = self.record(partition, key)
                if stored is not None:
                    return stored
        raise ContentionExhausted(key, partition, self._max_attempts)

    def record(self, partition: str, key: str) -> LedgerRecord | None:
        """The key's record, or None if it has none."""
        _check_key("partition", partition)
        row_key = _record_row_key(key)
        row = self._store.fetch(partition, [row_key]).get(row_key)
        return _record_of(row) if row else None

    def get(self, partition: str, row_key: str) -> Entity | None:
        """A business row as stored, or None; for reads outside any transaction."""
        _check_key("partition", partition)
        _check_key("row key", row_key, business=True)
        row = self._store.fetch(partition, [row_key]).get(row_key)
        return dict(row.entity) if row else None

    def purge_older_than(self, partition: str | None, cutoff: datetime) -> int:
        """Delete records created before `cutoff` (one partition, or all); return how many."""
        if cutoff.tzinfo is None:
            raise ValueError("cutoff must be timezone-aware, e.g. datetime.now(UTC) - timedelta")
        if partition is not None:
            _check_key("partition", partition)
        return self._store.purge(partition, cutoff)

    def _run(
        self,
        partition: str,
        key: str,
        transaction: Callable[[UnitOfWork], Any],
        row_keys: list[str],
        request_hash: str | None,
    ) -> LedgerRecord:
        _check_key("partition", partition)
        record_row = _record_row_key(key)
        for attempt in range(1, self._max_attempts + 1):
            rows = self._store.fetch(partition, [record_row, *row_keys])
            if record_row in rows:
                return _replay(rows[record_row], request_hash)
            uow = UnitOfWork(self._store, partition, {k: rows.get(k) for k in row_keys})
            result = transaction(uow)
            record, entity = self._new_record(partition, key, "applied", result, request_hash)
            ops = [_Op("create", entity), *uow._staged.values()]
            if len(ops) > MAX_BATCH_OPS:
                limit = f"{MAX_BATCH_OPS} operations per batch ({len(ops)} with its record)"
                raise TransactionTooLarge(key, limit)
            try:
                self._store.commit(partition, ops)
                return record
            except _Conflict as conflict:
                if conflict.index == 0 and (stored := self._store.fetch(partition, [record_row])):
                    return _replay(stored[record_row], request_hash)
            if attempt < self._max_attempts:
                backoff = min(_MAX_BACKOFF_SECONDS, _FIRST_BACKOFF_SECONDS * 2**attempt)
                time.sleep(random.uniform(0, backoff))
        raise ContentionExhausted(key, partition, self._max_attempts)

    def _commit_unread(
        self,
        partition: str,
        key: str,
        transaction: Callable[[UnitOfWork], Any],
        row_keys: list[str],
        request_hash: str | None,
    ) -> LedgerRecord | None:
        """The record of committing without reading first, or None when the usual path must
        decide (some row or the record exists, or the guess was not a pure insert)."""
        if not row_keys:
            return None
        uow = UnitOfWork(self._store, partition, dict.fromkeys(row_keys))
        try:
            result = transaction(uow)
        except Exception:  # it may depend on rows that do exist: the reading path decides
            return None
        staged = uow._staged
        if any(k not in staged or staged[k].kind != "create" for k in row_keys):
            return None
        record, entity = self._new_record(partition, key, "applied", result, request_hash)
        ops = [_Op("create", entity), *staged.values()]
        if len(ops) > MAX_BATCH_OPS:
            return None
        try:
            self._store.commit(partition, ops)
            return record
        except _Conflict as conflict:
            record_row = _record_row_key(key)
            if conflict.index == 0 and (stored := self._store.fetch(partition, [record_row])):
                return _replay(stored[record_row], request_hash)
            return None

    def _new_record(
        self,
        partition: str,
        key: str,
        outcome: Outcome,
        result: Any = None,
        request_hash: str | None = None,
    ) -> tuple[LedgerRecord, Entity]:
        try:
            text = json.dumps(result, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(f"result for idempotency key {key!r} is not JSON: {error}") from None
        if len(text.encode("utf-16-le")) // 2 > MAX_RESULT_CHARS:
            raise TransactionTooLarge(key, f"{MAX_RESULT_CHARS} characters of result JSON")
        created_at = self._clock()
        entity: Entity = {
            "PartitionKey": partition,
            "RowKey": _record_row_key(key),
            "key": key,
            "outcome": outcome,
            "result": text,
            "createdAt": created_at,
        }
        if request_hash is not None:
            entity["requestHash"] = request_hash
        return LedgerRecord(key, outcome, json.loads(text), created_at), entity


class TableLedger(_LedgerCore):
    """The ledger on an Azure Table (see `shared.storage.get_table`)."""

    def __init__(
        self,
        table: TableClient,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        super().__init__(_TableStore(table), max_attempts=max_attempts, clock=clock)


class MemoryLedger(_LedgerCore):
    """The ledger in process memory, thread-safe: the Table ledger's twin for fast tests."""

    def __init__(
        self,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        super().__init__(_MemoryStore(), max_attempts=max_attempts, clock=clock)


class _TableStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def fetch(self, partition: str, row_keys: Sequence[str]) -> dict[str, _Row]:
        keys = list(dict.fromkeys(row_keys))
        if len(keys) == 1:
            try:
                return {keys[0]: _row_from_table(self._table.get_entity(partition, keys[0]))}
            except ResourceNotFoundError:
                return {}
        parameters = {"pk": partition, **{f"r{i}": key for i, key in enumerate(keys)}}
        any_key = " or ".join(f"RowKey eq @r{i}" for i in range(len(keys)))
        # The SDK substitutes only @names standing alone between spaces, hence "( ... )".
        found = self._table.query_entities(
            f"PartitionKey eq @pk and ( {any_key} )", parameters=parameters
        )
        return {entity["RowKey"]: _row_from_table(entity) for entity in found}

    def commit(self, partition: str, ops: Sequence[_Op]) -> None:
        try:
            self._table.submit_transaction([_table_operation(op) for op in ops])
        except TableTransactionError as error:
            if _error_code(error) in _CONFLICTS:
                raise _Conflict(error.index) from error
            raise

    def purge(self, partition: str | None, cutoff: datetime) -> int:
        conditions = "RowKey ge @first and RowKey lt @after and createdAt lt @cutoff"
        parameters: dict[str, Any] = {
            "first": RECORD_PREFIX,
            "after": _RECORDS_END,
            "cutoff": cutoff,
        }
        if partition is not None:
            conditions = "PartitionKey eq @pk and " + conditions
            parameters["pk"] = partition
        expired = self._table.query_entities(
            conditions, parameters=parameters, select=["PartitionKey", "RowKey"]
        )
        pending: dict[str, list[Entity]] = defaultdict(list)
        deleted = 0
        for entity in expired:
            batch = pending[entity["PartitionKey"]]
            batch.append({"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"]})
            if len(batch) == MAX_BATCH_OPS:
                deleted += self._delete(batch)
                batch.clear()
        return deleted + sum(self._delete(batch) for batch in pending.values() if batch)

    def _delete(self, keys: list[Entity]) -> int:
        try:
            self._table.submit_transaction([("delete", key) for key in keys])
        except TableTransactionError as error:
            if _error_code(error) != "ResourceNotFound":
                raise
            # Another purge got some of them first; delete_entity ignores rows already gone.
            for key in keys:
                self._table.delete_entity(key["PartitionKey"], key["RowKey"])
        return len(keys)


class _MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], _Row] = {}
        self._versions = itertools.count(1)

    def fetch(self, partition: str, row_keys: Sequence[str]) -> dict[str, _Row]:
        with self._lock:
            found = {key: self._rows.get((partition, key)) for key in row_keys}
        return {key: _Row(dict(row.entity), row.etag) for key, row in found.items() if row}

    def commit(self, partition: str, ops: Sequence[_Op]) -> None:
        with self._lock:
            for index, op in enumerate(ops):
                current = self._rows.get((partition, op.entity["RowKey"]))
                if (op.kind == "create" and current is not None) or (
                    op.kind in ("update", "delete") and (current is None or current.etag != op.etag)
                ):
                    raise _Conflict(index)
            for op in ops:
                key = (partition, op.entity["RowKey"])
                if op.kind == "delete":
                    del self._rows[key]
                else:
                    self._rows[key] = _Row(dict(op.entity), f'W/"{next(self._versions)}"')

    def purge(self, partition: str | None, cutoff: datetime) -> int:
        with self._lock:
            expired = [
                key
                for key, row in self._rows.items()
                if partition in (None, key[0])
                and key[1].startswith(RECORD_PREFIX)
                and row.entity["createdAt"] < cutoff
            ]
            for key in expired:
                del self._rows[key]
        return len(expired)


_RECORDS_END = RECORD_PREFIX[:-1] + chr(ord(RECORD_PREFIX[-1]) + 1)  # first key after the range


def _check_key(what: str, value: Any, *, business: bool = False) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if match := _UNSAFE_IN_KEYS.search(value):
        raise ValueError(f"{what} {value!r} contains {match.group()!r}, which keys cannot hold")
    if len(value.encode("utf-16-le")) // 2 > _MAX_KEY_UTF16_UNITS:
        raise ValueError(f"{what} {value[:40]!r}... is longer than 1 KiB")
    if business and value.startswith(RECORD_PREFIX):
        raise ValueError(f"{what} {value!r}: the prefix {RECORD_PREFIX!r} is the ledger's")
    return value


def _record_row_key(key: str) -> str:
    _check_key("idempotency key", key)
    return _check_key("idempotency key", RECORD_PREFIX + key)


def _request_hash(request: Any) -> str | None:
    if request is None:
        return None
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _record_of(row: _Row) -> LedgerRecord:
    entity = row.entity
    return LedgerRecord(
        entity["key"], entity["outcome"], json.loads(entity["result"]), entity["createdAt"]
    )


def _replay(row: _Row, request_hash: str | None) -> LedgerRecord:
    record = _record_of(row)
    stored_hash = row.entity.get("requestHash")
    if request_hash and stored_hash and stored_hash != request_hash:
        raise IdempotencyConflict(record.key)
    return record


def _row_from_table(entity: TableEntity) -> _Row:
    # 64-bit integers come back wrapped; hand callers plain ints, as they stored them.
    values = {k: v.value if isinstance(v, EntityProperty) else v for k, v in entity.items()}
    return _Row(values, entity.metadata.get("etag") or "")


def _table_operation(op: _Op) -> tuple[str, Entity, dict[str, Any]]:
    # The SDK sends every int as a 32-bit Edm.Int32 unless told otherwise.
    entity = {
        name: EntityProperty(value, EdmType.INT64) if _beyond_int32(value) else value
        for name, value in op.entity.items()
    }
    options: dict[str, Any] = {}
    if op.kind in ("update", "delete"):
        options = {"etag": op.etag, "match_condition": MatchConditions.IfNotModified}
    if op.kind in ("update", "upsert"):
        options["mode"] = UpdateMode.REPLACE
    return op.kind, entity, options


def _beyond_int32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not -(2**31) <= value < 2**31


def _error_code(error: TableTransactionError) -> str:
    code = getattr(error, "error_code", None)
    return str(getattr(code, "value", code))
