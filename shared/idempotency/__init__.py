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

Recalled rows: each ledger remembers the business rows this process last committed to its table
(`RowMemory`, the latest few thousand, with their ETags). With `run_once(..., recall=True)`, for
rows that only the saga's own steps write (an order's row, which create_order writes and
confirm_order changes), when every row in `reads` is remembered the read is skipped:
`transaction` runs on the rows as remembered, and if it stages for each of them an update or
delete (conditional on the remembered ETag) the batch is sent at once. A row someone else changed
since fails it on its ETag, and the usual path runs. Across several processes the memory helps
when the step runs where the row was last written; otherwise it costs nothing. On rows that many
sagas share (stock, balances) another process has usually written last, and a stale guess costs
a rejected batch on top of the usual read and batch: leave `recall` off there.

Round trips: one read plus one batch, or one read for a duplicate; with `new_rows`, or `recall`
and the rows remembered, one batch, or the rejected batch and one read for a duplicate. The read
is a point read when nothing else is needed, else one query `RowKey eq a or RowKey eq b ...` in
the partition, which Table storage answers by scanning that partition: purging keeps partitions
small. Rows read with `uow.get` but not named in `reads` cost one point read each.

Retention: `records_before(cutoff)` lists old records and `forget(partition, keys)` deletes
them. A deleted record no longer stops a duplicate, so `shared.retention` forgets only the
records of sagas that ended long ago, and a call old enough to have lost its record runs with
`replay_only=True`: answered from its record, or refused (RecordMissing) with no effect.
`write` commits a transaction without a record, for writes that repeating cannot harm.

Limits (Table storage): one partition, at most 100 operations per batch including the record,
result JSON at most 30,000 characters; exceeding one raises `TransactionTooLarge` before sending.
"""

from shared.idempotency.ledger import (
    DEFAULT_MAX_ATTEMPTS,
    Ledger,
    MemoryLedger,
    TableLedger,
)
from shared.idempotency.records import (
    COMPENSATION_SUFFIX,
    MAX_BATCH_OPS,
    MAX_RESULT_CHARS,
    RECORD_PREFIX,
    LedgerRecord,
    Outcome,
    compensation_key,
)
from shared.idempotency.unit_of_work import UnitOfWork

__all__ = [
    "COMPENSATION_SUFFIX",
    "DEFAULT_MAX_ATTEMPTS",
    "MAX_BATCH_OPS",
    "MAX_RESULT_CHARS",
    "RECORD_PREFIX",
    "Ledger",
    "LedgerRecord",
    "MemoryLedger",
    "Outcome",
    "TableLedger",
    "UnitOfWork",
    "compensation_key",
]
