"""The ledger each service table writes through (`shared.services` decides where), and replies."""

from __future__ import annotations

from typing import Any

from shared.idempotency import Ledger, LedgerRecord
from shared.saga.outcome import failure
from shared.services import current

# What an action replies when its compensation ran first (it timed out, and arrived late).
ALREADY_COMPENSATED = "AlreadyCompensated"


def ledger_for(table_name: str) -> Ledger:
    """The ledger over the service table `table_name` in the services in use: Table storage
    (which adds SAGA_TABLE_PREFIX) or its in-memory twin."""
    return current().ledger(table_name)


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
