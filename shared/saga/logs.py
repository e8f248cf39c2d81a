"""The fields every saga log record carries, so one saga's records can be found by its id.

Engine and activity records put them in ``extra``: a LogRecord attribute each, which the Azure
Monitor OpenTelemetry exporter sends as a custom dimension of the trace (docs/deploy.md,
"Saga logs"). A field that does not apply to a record (a saga-wide status has no step) is left
out rather than sent empty.

- ``sagaId``: the orchestration instance id (the order id for orders)
- ``sagaName``: the definition's name; engine records only (an activity does not know it)
- ``step``: the step, group member or gate the record is about
- ``attempt``: which attempt at the step (counted per phase, from 1)
- ``phase``: ``forward``, or ``compensating`` once the saga undoes its steps
- ``outcome``: what happened: a saga status (``Compensating``, ``NeedsAttention``, ...), an
  attempt's end (``succeeded``, ``failed``, ``faulted``, ``timed_out``, ``abandoned``), or
  ``attempt_failed`` for an attempt the engine may still retry
- ``code``: the error code, when there is one
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from shared.idempotency.records import COMPENSATION_SUFFIX

LOGGER_NAME = "shared.saga"  # every saga record's logger is this one or a child of it


class Phase(StrEnum):
    FORWARD = "forward"
    COMPENSATING = "compensating"


def saga_fields(
    saga_id: str,
    *,
    saga: str | None = None,
    step: str | None = None,
    attempt: int | None = None,
    phase: Phase | None = None,
    outcome: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The ``extra`` of one saga record, without the fields that do not apply."""
    fields = {
        "sagaId": saga_id,
        "sagaName": saga,
        "step": step,
        "attempt": attempt,
        "phase": None if phase is None else str(phase),
        "outcome": None if outcome is None else str(outcome),
        "code": None if code is None else str(code),
    }
    return {name: value for name, value in fields.items() if value is not None}


def call_fields(call: dict[str, Any]) -> dict[str, Any]:
    """The fields an activity can read from the engine's call: the key is
    ``{sagaId}:{step}``, or ``{sagaId}:{step}:compensate`` for a compensation, and the call
    carries ``attempt`` once the engine numbers its attempts. Empty for a key of another form."""
    key = call.get("key")
    if not isinstance(key, str):
        return {}
    compensating = key.endswith(COMPENSATION_SUFFIX)
    saga_id, separator, step = key.removesuffix(COMPENSATION_SUFFIX).rpartition(":")
    if not (separator and saga_id and step):
        return {}
    attempt = call.get("attempt")
    return saga_fields(
        saga_id,
        step=step,
        attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else None,
        phase=Phase.COMPENSATING if compensating else Phase.FORWARD,
    )
