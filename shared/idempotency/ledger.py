"""The ledger: keyed local transactions that take effect once, on a Table or in memory."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from azure.data.tables import TableClient

from shared.errors import ContentionExhausted, RecordMissing, TransactionTooLarge
from shared.idempotency.memory_store import MemoryStore
from shared.idempotency.records import (
    MAX_BATCH_OPS,
    MAX_RESULT_CHARS,
    RECORD_PREFIX,
    Conflict,
    Entity,
    LedgerRecord,
    Op,
    Outcome,
    Row,
    Store,
    check_key,
    compensation_key,
    hash_of_request,
    record_of,
    record_row_key,
    replay_record,
    utc_now,
)
from shared.idempotency.row_memory import RowMemory
from shared.idempotency.table_store import TableStore
from shared.idempotency.unit_of_work import UnitOfWork

DEFAULT_MAX_ATTEMPTS = 20
_FIRST_BACKOFF_SECONDS = 0.002
_MAX_BACKOFF_SECONDS = 0.05


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
        recall: bool = False,
        replay_only: bool = False,
    ) -> LedgerRecord: ...

    def compensate(
        self,
        partition: str,
        action_key: str,
        undo: Callable[[UnitOfWork, LedgerRecord | None], Any],
        *,
        reads: Iterable[str] = (),
        replay_only: bool = False,
    ) -> LedgerRecord: ...

    def tombstone(self, partition: str, key: str, result: Any = None) -> LedgerRecord: ...

    def record(self, partition: str, key: str) -> LedgerRecord | None: ...

    def get(self, partition: str, row_key: str) -> Entity | None: ...

    def write(
        self, partition: str, transaction: Callable[[UnitOfWork], Any], *, reads: Iterable[str] = ()
    ) -> Any: ...

    def records_before(self, cutoff: datetime) -> list[tuple[str, str]]: ...

    def forget(self, partition: str, keys: Iterable[str]) -> int: ...


class LedgerCore:
    """The ledger's algorithm, shared by both twins; they differ only in their `Store`."""

    def __init__(
        self,
        store: Store,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime] = utc_now,
        memory: RowMemory | None = None,
    ) -> None:
        self._store = store
        self._max_attempts = max_attempts
        self._clock = clock
        # What this process last committed to the table's business rows, for ``recall``.
        self._row_memory = memory if memory is not None else RowMemory()

    def run_once(
        self,
        partition: str,
        key: str,
        transaction: Callable[[UnitOfWork], Any],
        *,
        reads: Iterable[str] = (),
        request: Any = None,
        new_rows: bool = False,
        recall: bool = False,
        replay_only: bool = False,
    ) -> LedgerRecord:
        """Run `transaction` and commit its writes with the key's record, unless the key has one.

        ``new_rows=True`` says the rows in `reads` are normally absent and the transaction creates
        them: it is then committed without reading first. ``recall=True`` says only this saga's
        own steps write them: when this process committed each of them last, the transaction runs
        on them as committed, without reading first (see `shared.idempotency` for both).
        ``replay_only=True`` only answers from the key's record, and raises RecordMissing when
        there is none (a call so old that its record may have been purged)."""
        row_keys = [check_key("row key", row_key, business=True) for row_key in reads]
        request_hash = hash_of_request(request)
        check_key("partition", partition)
        guess: dict[str, Row | None] | None = None
        if new_rows and row_keys:
            guess = dict.fromkeys(row_keys)
        elif recall and (remembered := self._row_memory.recall(partition, row_keys)):
            guess = dict(remembered)
        if guess is not None and not replay_only:
            record = self._commit_guess(partition, key, transaction, guess, request_hash)
            if record is not None:
                return record
        return self._run(partition, key, transaction, row_keys, request_hash, replay_only)

    def compensate(
        self,
        partition: str,
        action_key: str,
        undo: Callable[[UnitOfWork, LedgerRecord | None], Any],
        *,
        reads: Iterable[str] = (),
        replay_only: bool = False,
    ) -> LedgerRecord:
        """Undo the action if it applied, else tombstone it; once, under its compensation key
        (``replay_only`` as for `run_once`)."""
        check_key("partition", partition)
        action_row = record_row_key(action_key)

        def transaction(uow: UnitOfWork) -> Any:
            row = uow._read_row(action_row)
            if row is None:
                uow._stage(Op("create", self._new_record(partition, action_key, "tombstone")[1]))
                return undo(uow, None)
            action = record_of(row)
            return undo(uow, action if action.outcome == "applied" else None)

        row_keys = [action_row, *(check_key("row key", k, business=True) for k in reads)]
        key = compensation_key(action_key)
        return self._run(partition, key, transaction, row_keys, None, replay_only)

    def tombstone(self, partition: str, key: str, result: Any = None) -> LedgerRecord:
        """Record that the action with this key must never apply; if it already did, say so."""
        check_key("partition", partition)
        for _ in range(self._max_attempts):
            record, entity = self._new_record(partition, key, "tombstone", result)
            try:
                self._store.commit(partition, [Op("create", entity)])
                return record
            except Conflict:
                stored = self.record(partition, key)
                if stored is not None:
                    return stored
        raise ContentionExhausted(key, partition, self._max_attempts)

    def record(self, partition: str, key: str) -> LedgerRecord | None:
        """The key's record, or None if it has none."""
        check_key("partition", partition)
        row_key = record_row_key(key)
        row = self._store.fetch(partition, [row_key]).get(row_key)
        return record_of(row) if row else None

    def get(self, partition: str, row_key: str) -> Entity | None:
        """A business row as stored, or None; for reads outside any transaction."""
        check_key("partition", partition)
        check_key("row key", row_key, business=True)
        row = self._store.fetch(partition, [row_key]).get(row_key)
        return dict(row.entity) if row else None

    def write(
        self, partition: str, transaction: Callable[[UnitOfWork], Any], *, reads: Iterable[str] = ()
    ) -> Any:
        """Commit `transaction`'s writes in one batch without a record, re-reading and re-running
        it on contention; its result. For writes that are not saga steps and that repeating
        cannot harm (an admin setting a stock level), which so leave no record behind."""
        check_key("partition", partition)
        row_keys = [check_key("row key", row_key, business=True) for row_key in reads]
        for attempt in range(1, self._max_attempts + 1):
            rows = self._store.fetch(partition, row_keys) if row_keys else {}
            uow = UnitOfWork(self._store, partition, {k: rows.get(k) for k in row_keys})
            result = transaction(uow)
            ops = list(uow._staged.values())
            if len(ops) > MAX_BATCH_OPS:
                raise TransactionTooLarge("(none)", f"{MAX_BATCH_OPS} operations per batch")
            try:
                if ops:
                    self._commit(partition, ops)
                return result
            except Conflict:
                if attempt < self._max_attempts:
                    _back_off(attempt)
        raise ContentionExhausted("(none)", partition, self._max_attempts)

    def records_before(self, cutoff: datetime) -> list[tuple[str, str]]:
        """(partition, key) of every record created before `cutoff`, in every partition."""
        if cutoff.tzinfo is None:
            raise ValueError("cutoff must be timezone-aware, e.g. datetime.now(UTC) - timedelta")
        return [
            (partition, row_key.removeprefix(RECORD_PREFIX))
            for partition, row_key in self._store.records_before(cutoff)
        ]

    def forget(self, partition: str, keys: Iterable[str]) -> int:
        """Delete these keys' records (a repeat of their calls is no longer recognised: see
        `shared.retention`); how many are gone now."""
        check_key("partition", partition)
        return self._store.delete(partition, [record_row_key(key) for key in keys])

    def _run(
        self,
        partition: str,
        key: str,
        transaction: Callable[[UnitOfWork], Any],
        row_keys: list[str],
        request_hash: str | None,
        replay_only: bool = False,
    ) -> LedgerRecord:
        record_row = record_row_key(key)
        for attempt in range(1, self._max_attempts + 1):
            rows = self._store.fetch(partition, [record_row, *row_keys])
            if record_row in rows:
                return replay_record(rows[record_row], request_hash)
            if replay_only:
                raise RecordMissing(key)
            uow = UnitOfWork(self._store, partition, {k: rows.get(k) for k in row_keys})
            result = transaction(uow)
            record, entity = self._new_record(partition, key, "applied", result, request_hash)
            ops = [Op("create", entity), *uow._staged.values()]
            if len(ops) > MAX_BATCH_OPS:
                limit = f"{MAX_BATCH_OPS} operations per batch ({len(ops)} with its record)"
                raise TransactionTooLarge(key, limit)
            committed = self._commit_or_replay(partition, record, ops, request_hash)
            if committed is not None:
                return committed
            if attempt < self._max_attempts:
                _back_off(attempt)
        raise ContentionExhausted(key, partition, self._max_attempts)

    def _commit_guess(
        self,
        partition: str,
        key: str,
        transaction: Callable[[UnitOfWork], Any],
        guess: dict[str, Row | None],
        request_hash: str | None,
    ) -> LedgerRecord | None:
        """The record of committing on a guess of the rows (absent, or as last committed here)
        without reading them, or None when the usual path must decide: the transaction raised,
        or did not stage for every row a write that fails unless the row is as guessed, or some
        row, or the record, was not as guessed."""
        uow = UnitOfWork(self._store, partition, dict(guess))
        try:
            result = transaction(uow)
        except Exception:  # it may depend on rows that are not as guessed: reading decides
            return None
        staged = uow._staged
        if not all(_checked_by(staged.get(k), row) for k, row in guess.items()):
            return None
        record, entity = self._new_record(partition, key, "applied", result, request_hash)
        ops = [Op("create", entity), *staged.values()]
        if len(ops) > MAX_BATCH_OPS:
            return None
        committed = self._commit_or_replay(partition, record, ops, request_hash)
        if committed is None:
            self._row_memory.forget(partition, guess)
        return committed

    def _commit_or_replay(
        self, partition: str, record: LedgerRecord, ops: list[Op], request_hash: str | None
    ) -> LedgerRecord | None:
        """Commit the batch whose operation 0 creates `record`. If that create fails, a
        duplicate or a tombstone got there first: its record is the answer. None when a staged
        write conflicted instead (the caller reads again)."""
        try:
            self._commit(partition, ops)
            return record
        except Conflict as conflict:
            record_row = record_row_key(record.key)
            if conflict.index == 0 and (stored := self._store.fetch(partition, [record_row])):
                return replay_record(stored[record_row], request_hash)
            return None

    def _commit(self, partition: str, ops: list[Op]) -> None:
        """Commit ``ops`` (raises Conflict) and remember the business rows as written."""
        etags = self._store.commit(partition, ops)
        if len(etags) != len(ops):  # not one ETag per operation: remember none of them
            self._row_memory.forget(partition, [op.entity["RowKey"] for op in ops])
            return
        written = [
            (op.entity["RowKey"], Row(dict(op.entity), etag))
            for op, etag in zip(ops, etags, strict=True)
            if op.kind != "delete" and etag and not op.entity["RowKey"].startswith(RECORD_PREFIX)
        ]
        self._row_memory.remember(partition, written)
        deleted = [op.entity["RowKey"] for op in ops if op.kind == "delete"]
        self._row_memory.forget(partition, deleted)

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
            "RowKey": record_row_key(key),
            "key": key,
            "outcome": outcome,
            "result": text,
            "createdAt": created_at,
        }
        if request_hash is not None:
            entity["requestHash"] = request_hash
        return LedgerRecord(key, outcome, json.loads(text), created_at), entity


class TableLedger(LedgerCore):
    """The ledger on an Azure Table (see `shared.storage.TableStorage`)."""

    def __init__(
        self,
        table: TableClient,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime] = utc_now,
        memory: RowMemory | None = None,
    ) -> None:
        store = TableStore(table)
        super().__init__(store, max_attempts=max_attempts, clock=clock, memory=memory)


class MemoryLedger(LedgerCore):
    """The ledger in process memory, thread-safe: the Table ledger's twin for fast tests."""

    def __init__(
        self,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime] = utc_now,
        memory: RowMemory | None = None,
        store: MemoryStore | None = None,
    ) -> None:
        self._memory_store = store if store is not None else MemoryStore()
        super().__init__(self._memory_store, max_attempts=max_attempts, clock=clock, memory=memory)

    def rows(self) -> dict[tuple[str, str], Row]:
        """Every row, records included, by (PartitionKey, RowKey) (for tests)."""
        return self._memory_store.snapshot()

    def sibling(self) -> MemoryLedger:
        """The same rows as another process sees them, with a memory of its own (for tests of
        what several processes do, as several TableLedgers on one table do)."""
        return MemoryLedger(
            max_attempts=self._max_attempts, clock=self._clock, store=self._memory_store
        )


def _checked_by(op: Op | None, guessed: Row | None) -> bool:
    """Whether the batch holding ``op`` fails unless its row is as guessed: a create of a row
    guessed absent, an update or delete on the ETag of a row guessed present."""
    if op is None:
        return False
    if guessed is None:
        return op.kind == "create"
    return op.kind in ("update", "delete") and op.etag == guessed.etag


def _back_off(attempt: int) -> None:
    """Sleep a random while, longer after each lost attempt, before reading again."""
    time.sleep(random.uniform(0, min(_MAX_BACKOFF_SECONDS, _FIRST_BACKOFF_SECONDS * 2**attempt)))
