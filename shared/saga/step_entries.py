"""The progress record's step entries: one per step or gate, one per fan-out with its members'
statuses and attempts in arrays, and the per-step list they stand for."""

from __future__ import annotations

from typing import Any

from shared.saga.definition import ParallelGroup


def is_fan_out(group: ParallelGroup) -> bool:
    """Members named ``{group}-0`` ... ``{group}-{n-1}``, as every fan-out names them."""
    return all(member.name == f"{group.name}-{index}" for index, member in enumerate(group.steps))


def step_entry(name: str, status: str) -> dict[str, Any]:
    return {"name": name, "status": status, "attempts": 0, "lastError": None}


def fan_out_entry(name: str, members: int, status: str) -> dict[str, Any]:
    """Member ``i`` is step ``{name}-{i}``: its status is ``status[i]``, its attempts
    ``attempts[i]``; ``lastError`` is the latest error of any member, naming it."""
    return {
        "name": name,
        "members": members,
        "status": [status] * members,
        "attempts": [0] * members,
        "lastError": None,
    }


def step_list(steps: Any) -> list[dict[str, Any]]:
    """``{"name", "status", "attempts"}`` of each step of a record's ``steps``, each fan-out
    member as a step of its own (records written before fan-outs were grouped list them so)."""
    found: list[dict[str, Any]] = []
    for entry in steps if isinstance(steps, list) else ():
        if not isinstance(entry, dict):
            continue
        members = entry.get("members")
        if not isinstance(members, int):
            found.append({field: entry.get(field) for field in ("name", "status", "attempts")})
            continue
        name, status, attempts = entry.get("name"), entry.get("status"), entry.get("attempts")
        found.extend(
            {
                "name": f"{name}-{index}",
                "status": _at(status, index),
                "attempts": _at(attempts, index),
            }
            for index in range(members)
        )
    return found


def _at(values: Any, index: int) -> Any:
    return values[index] if isinstance(values, list) and index < len(values) else None
