"""The ledger each service table writes through (swappable in tests), and an action's reply."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from shared.idempotency import Ledger, LedgerRecord, MemoryLedger, TableLedger
from shared.saga.outcome import failure
from shared.storage import get_table

# What an action replies when its compensation ran first (it timed out, and arrived late).
ALREADY_COMPENSATED = "AlreadyCompensated"

_override: Callable[[str], Ledger] | None = None


def ledger_for(table_name: str) -> Ledger:
    """The ledger over the service table `table_name` (`get_table` adds SAGA_TABLE_PREFIX)."""
    if _override is not None:
        return _override(table_name)
    # A TableLedger is a thin wrapper around the shared, cached client: cheap to make per call.
    return TableLedger(get_table(table_name))


def reply(record: LedgerRecord) -> Any:
    """An action's reply: the envelope its transaction returned (the same on every delivery), or
    `AlreadyCompensated` when its compensation tombstoned it first, so it had no effect."""
    if record.outcome == "tombstone":
        return failure(
            ALREADY_COMPENSATED,
            f"the action with key {record.key!r} was compensated before it ran; it had no effect",
        )
    return record.result


def applied_value(action: LedgerRecord | None) -> dict[str, Any] | None:
    """What a compensation must undo: the value of an action that applied and succeeded, or None
    when it never applied or applied as a business failure (nothing to undo)."""
    if action is None or not isinstance(action.result, dict) or action.result.get("ok") is not True:
        return None
    value = action.result.get("value")
    if not isinstance(value, dict):
        raise TypeError(f"action {action.key!r} succeeded with {value!r:.100}, not an object")
    return value


@contextmanager
def use_ledgers(factory: Callable[[str], Ledger]) -> Iterator[None]:
    """Within the block, `ledger_for(name)` returns `factory(name)` (for tests)."""
    global _override
    previous, _override = _override, factory
    try:
        yield
    finally:
        _override = previous


@contextmanager
def memory_ledgers() -> Iterator[dict[str, MemoryLedger]]:
    """Within the block, every service table is an in-memory ledger, made on first use and
    exposed by table name."""
    ledgers: dict[str, MemoryLedger] = {}
    lock = threading.Lock()

    def factory(table_name: str) -> Ledger:
        with lock:
            if table_name not in ledgers:
                ledgers[table_name] = MemoryLedger()
            return ledgers[table_name]

    with use_ledgers(factory):
        yield ledgers
