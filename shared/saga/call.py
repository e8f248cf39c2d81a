"""What an activity receives from the engine: the idempotency key and the step's input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import InvalidStepInput
from shared.idempotency.records import COMPENSATION_SUFFIX

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class StepCall(Generic[M]):
    """``{"key", "input"}`` (a compensation's call also carries ``actionKey``, the key of the
    action it undoes), with ``input`` validated against the step's contract model, and
    ``issuedAt``, when the orchestration issued this attempt (None in calls made before the
    engine stamped them)."""

    key: str
    input: M
    issued_at: datetime | None = None

    @classmethod
    def parse(cls, call: object, model: type[M]) -> StepCall[M]:
        """Validate the envelope and its input; InvalidStepInput (the orchestrator's bug, which
        no retry can fix) naming the first field that is wrong."""
        if not isinstance(call, dict) or not {"key", "input"} <= call.keys():
            raise InvalidStepInput(f"activity call must be {{key, input}}, got {call!r:.100}")
        unknown = call.keys() - {"key", "input", "actionKey", "issuedAt", "attempt"}
        if unknown:
            raise InvalidStepInput(f"activity call: unknown field(s) {sorted(unknown)}")
        key = call["key"]
        if not isinstance(key, str) or not key.strip():
            raise InvalidStepInput(f"activity call: key must be a non-empty string, got {key!r}")
        try:
            step_input = model.model_validate(call["input"])
        except ValidationError as error:
            raise InvalidStepInput(_first_problem(model, error)) from None
        step = cls(key, step_input, _issued_at(call.get("issuedAt")))
        if "actionKey" in call and call["actionKey"] != step.action_key:
            raise InvalidStepInput(
                f"activity call: actionKey {call['actionKey']!r} does not match key {key!r}"
            )
        return step

    @property
    def action_key(self) -> str:
        """For a compensation's call, the key of the action it undoes."""
        if not self.key.endswith(COMPENSATION_SUFFIX) or self.key == COMPENSATION_SUFFIX:
            raise InvalidStepInput(
                f"key {self.key!r} is not a compensation key (ends with {COMPENSATION_SUFFIX!r})"
            )
        return self.key.removesuffix(COMPENSATION_SUFFIX)


def _issued_at(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        issued = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        issued = None
    if issued is None:
        raise InvalidStepInput(f"activity call: issuedAt must be an ISO 8601 time, got {value!r}")
    # The SDK's orchestration clock is UTC, with or without an offset.
    return issued if issued.tzinfo else issued.replace(tzinfo=UTC)


def _first_problem(model: type[BaseModel], error: ValidationError) -> str:
    problem = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"]) or "input"
    given = problem.get("input")
    return f"{model.__name__} input: {where}: {problem['msg']} (got {given!r:.100})"
