"""Idempotency keys and the payloads that carry them to activities."""

from __future__ import annotations

from typing import Any


def action_key(instance_id: str, step: str) -> str:
    """Stable across retries, replays and host restarts: the same for every attempt."""
    return f"{instance_id}:{step}"


def compensation_key(instance_id: str, step: str) -> str:
    return f"{action_key(instance_id, step)}:compensate"


def action_payload(instance_id: str, step: str, step_input: Any) -> dict[str, Any]:
    """What a step's activity receives: ``{"key", "input"}``."""
    return {"key": action_key(instance_id, step), "input": step_input}


def compensation_payload(instance_id: str, step: str, step_input: Any) -> dict[str, Any]:
    """What a compensation receives: its own key, the key of the action it undoes (to find the
    action's ledger record, or tombstone it) and the input the action was given."""
    return {
        "key": compensation_key(instance_id, step),
        "actionKey": action_key(instance_id, step),
        "input": step_input,
    }
