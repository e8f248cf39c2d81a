"""Reads an orchestration history, as the durable status API returns it (`showHistory`), into
the activity attempts and the signals of one saga."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.operator_models import Outcome
from shared.idempotency.records import COMPENSATION_SUFFIX
from shared.json_text import decoded_once
from shared.saga.outcome import EngineCode, parse_envelope

_ENDED = frozenset({"ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated"})
# The durable HTTP API names event types; a raw history numbers them (HistoryEventType).
_NUMBERED = {0: "ExecutionStarted", 1: "ExecutionCompleted", 2: "ExecutionFailed",
             3: "ExecutionTerminated", 4: "TaskScheduled", 5: "TaskCompleted", 6: "TaskFailed",
             15: "EventRaised"}  # fmt: skip


@dataclass(frozen=True)
class Attempt:
    """One call of a step's activity (or of its compensation). ``end`` is None while no result
    came; ``outcome`` is ok, failed (a business failure), fault (it raised) or running."""

    step: str
    compensation: bool
    start: datetime
    end: datetime | None
    outcome: Outcome
    code: str | None


@dataclass(frozen=True)
class Signal:
    """An external event the saga received."""

    at: datetime
    name: str
    data: Any


@dataclass(frozen=True)
class History:
    started: datetime | None
    ended: datetime | None
    latest: datetime | None  # the last timestamp seen
    attempts: list[Attempt]  # by start time
    signals: list[Signal]  # by arrival


def read_history(events: Iterable[Any], instance_id: str) -> History:
    """The attempts and signals of the saga ``instance_id``; events of other shapes are
    skipped, so a history from a newer host still draws what it can."""
    started = ended = latest = None
    attempts: list[Attempt] = []
    signals: list[Signal] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("EventType")
        kind = _NUMBERED.get(kind, "") if isinstance(kind, int) else kind
        at = parse_time(event.get("Timestamp"))
        if at is None:
            continue
        latest = at if latest is None else max(latest, at)
        if kind == "ExecutionStarted":
            started = at
        elif kind in _ENDED:
            ended = at
        elif kind == "EventRaised":
            signals.append(Signal(at, str(event.get("Name", "")), _event_data(event.get("Input"))))
        elif kind in ("TaskScheduled", "TaskCompleted", "TaskFailed"):
            attempts.append(_attempt(event, kind, at, instance_id))
    attempts.sort(key=lambda attempt: attempt.start)
    return History(started, ended, latest, attempts, signals)


def _event_data(raw: Any) -> Any:
    """The SDK's client encodes event data twice (api/saga_calls.py), so it is decoded twice."""
    return decoded_once(decoded_once(raw))


def _attempt(event: dict[str, Any], kind: str, at: datetime, instance_id: str) -> Attempt:
    name = str(event.get("FunctionName") or event.get("Name") or "activity")
    step, compensation = _step_of(decoded_once(event.get("Input")), instance_id, name)
    if kind == "TaskScheduled":
        return Attempt(step, compensation, at, None, "running", None)
    start = parse_time(event.get("ScheduledTime")) or at
    if kind == "TaskFailed":
        return Attempt(step, compensation, start, at, "fault", EngineCode.ACTIVITY_FAULT.value)
    if "Result" not in event:  # the history was read without outputs: the call answered
        return Attempt(step, compensation, start, at, "ok", None)
    envelope = parse_envelope(decoded_once(event["Result"]))
    if envelope.error is None:
        return Attempt(step, compensation, start, at, "ok", None)
    return Attempt(step, compensation, start, at, "failed", envelope.error.code)


def _step_of(call: Any, instance_id: str, function_name: str) -> tuple[str, bool]:
    """The step a call belongs to, from its idempotency key ``{instance}:{step}[:compensate]``
    (shared.saga.keys); a call without one is shown under its function's name."""
    key = call.get("key") if isinstance(call, dict) else None
    prefix = f"{instance_id}:"
    if not isinstance(key, str) or not key.startswith(prefix):
        return function_name, False
    step = key.removeprefix(prefix)
    if step.endswith(COMPENSATION_SUFFIX):
        return step.removesuffix(COMPENSATION_SUFFIX), True
    return step, False


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
