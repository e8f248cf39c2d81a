"""Idempotency keys and the payloads that carry them to activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.idempotency.records import compensation_key
from shared.saga.contract import to_wire


def action_key(instance_id: str, step: str) -> str:
    """Stable across retries, replays and host restarts: the same for every attempt."""
    return f"{instance_id}:{step}"


def action_payload(instance_id: str, step: str, step_input: Any) -> dict[str, Any]:
    """What a step's activity receives: ``{"key", "input"}`` (a contract model as its JSON)."""
    return {"key": action_key(instance_id, step), "input": to_wire(step_input)}


def stamped(payload: dict[str, Any], issued_at: datetime, attempt: int) -> dict[str, Any]:
    """``payload`` with the time the orchestration issues this attempt (its deterministic
    clock: an activity refuses a call older than the retention whose record is gone) and the
    attempt's number (for the activity's log records)."""
    return {**payload, "issuedAt": issued_at.isoformat(), "attempt": attempt}


def compensation_payload(instance_id: str, step: str, step_input: Any) -> dict[str, Any]:
    """What a compensation receives: its own key, the key of the action it undoes (to find the
    action's ledger record, or tombstone it) and the input the action was given."""
    key = action_key(instance_id, step)
    return {"key": compensation_key(key), "actionKey": key, "input": to_wire(step_input)}
