"""A saga's state as the API shows it, read from its orchestration's durable status.

Every saga publishes the same progress record (shared/saga/status.py); this reads it for any
of them: the status in business terms (Failed when the orchestration itself failed or was
terminated), the steps, and the failure and attention notices with technical texts replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.responses import FailureView, StepView
from shared.json_text import decoded_once
from shared.saga.outcome import EngineCode
from shared.saga.public import PublicStatus
from shared.saga.step_entries import step_list

_FAILED_RUNTIME = frozenset({"Failed", "Terminated", "Canceled"})
# Fault texts carry exception types and messages from inside the services (field names, keys,
# table names): logged, not shown. A call the service refused is the app's error, not the
# caller's, so those texts say so rather than name the field or key.
_TECHNICAL = {
    EngineCode.ACTIVITY_FAULT.value: "the step failed with a technical fault on every attempt",
    EngineCode.MALFORMED_RESULT.value: "the step returned a result the saga could not read",
    EngineCode.INVALID_INPUT.value: (
        "an internal error of the app stopped the step (its request was malformed); "
        "the request that started the saga is not at fault"
    ),
    EngineCode.KEY_REUSED.value: (
        "an internal error of the app stopped the step (its request id was reused); "
        "the request that started the saga is not at fault"
    ),
    EngineCode.PERMANENT_FAULT.value: "the step failed with a technical fault retrying cannot fix",
    EngineCode.ORCHESTRATOR_ERROR.value: "the saga stopped on an internal error of the app",
}


@dataclass(frozen=True)
class SagaState:
    """What the API shows of one saga instance."""

    instance_id: str
    status: PublicStatus
    record: dict[str, Any]  # the progress record: the final one once Completed
    output: Any  # the orchestration's output once Completed, else None
    input: dict[str, Any]  # the saga's input ({} when it has none)
    steps: list[StepView]
    failure: FailureView | None
    attention: FailureView | None
    summary: Any
    created_at: datetime
    updated_at: datetime


def read_saga(status: Any) -> SagaState:
    """The state of the saga whose durable status this is."""
    runtime = runtime_status(status)
    output = decoded_once(status.output) if runtime == "Completed" else None
    record = output if isinstance(output, dict) else decoded_once(status.custom_status)
    record = record if isinstance(record, dict) else {}
    failure = failure_view(record.get("failure"))
    if runtime in _FAILED_RUNTIME:
        state = PublicStatus.FAILED
        failure = failure or FailureView(
            step="saga", code=f"Orchestration{runtime}", message="the saga stopped unexpectedly"
        )
    else:
        state = _status(record.get("status"))
    return SagaState(
        instance_id=status.instance_id,
        status=state,
        record=record,
        output=output,
        input=saga_input(status),
        steps=[StepView.model_validate(step) for step in step_list(record.get("steps"))],
        failure=failure,
        attention=failure_view(record.get("attention")),
        summary=record.get("summary"),
        created_at=_utc(status.created_time),
        updated_at=_utc(status.last_updated_time or status.created_time),
    )


def saga_input(status: Any) -> dict[str, Any]:
    """The saga's input ({} when it has none)."""
    value = decoded_once(status.input_)
    return value if isinstance(value, dict) else {}


def runtime_status(status: Any) -> str:
    runtime = status.runtime_status
    return str(getattr(runtime, "value", runtime) or "")


def failure_view(value: Any) -> FailureView | None:
    if not isinstance(value, dict):
        return None
    code = str(value.get("code", ""))
    message = _TECHNICAL.get(code, str(value.get("message", "")))
    return FailureView(step=str(value.get("step", "")), code=code, message=message)


def _status(value: Any) -> PublicStatus:
    """Running until the saga publishes its first record."""
    try:
        return PublicStatus(value)
    except ValueError:
        return PublicStatus.RUNNING


def _utc(instant: datetime | None) -> datetime:
    if instant is None:
        return datetime.now(UTC)
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
