"""Declarative saga definitions: steps, parallel groups, approval gates and retry policies."""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from azure.functions.decorators.function_app import FunctionBuilder

from shared.errors import SagaError

# An activity as `context.call_activity` accepts it: the decorated function, or its name.
ActivityRef = FunctionBuilder | str
# (saga input, results so far) -> step input; or with a third parameter, the orchestration's
# current time (deterministic: the same on every replay), for a step that needs "now".
InputBuilder = (
    Callable[[Any, Mapping[str, Any]], Any] | Callable[[Any, Mapping[str, Any], datetime], Any]
)
Condition = Callable[[Any, Mapping[str, Any]], bool]


class SagaDefinitionError(SagaError, ValueError):
    """A saga definition breaks a rule; raised when it is constructed, so at module import."""


class StepKind(StrEnum):
    """A step's place (Garcia-Molina & Salem): undoable, point of no return, bound to succeed."""

    COMPENSATABLE = "compensatable"
    PIVOT = "pivot"
    RETRIABLE = "retriable"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff between attempts, waited on durable timers."""

    max_attempts: int = 3
    first_interval_seconds: float = 5.0
    backoff_coefficient: float = 2.0
    max_interval_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise SagaDefinitionError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.first_interval_seconds < 0:
            raise SagaDefinitionError("first_interval_seconds must not be negative")
        if self.backoff_coefficient < 1:
            raise SagaDefinitionError("backoff_coefficient must be at least 1")
        if self.max_interval_seconds < self.first_interval_seconds:
            raise SagaDefinitionError("max_interval_seconds must be >= first_interval_seconds")

    def delay_seconds(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (from 1) before the next one."""
        delay = self.first_interval_seconds * self.backoff_coefficient ** (attempt - 1)
        return min(delay, self.max_interval_seconds)


def builder_arity(builder: Callable[..., Any]) -> int:
    """How many positional arguments an input builder takes (2 or 3; anything else is refused)."""
    if isinstance(builder, Constant):  # made on every replay (fan-outs, plain-code steps)
        return 2
    try:
        parameters = inspect.signature(builder).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: the two-argument form
        return 2
    kinds = [parameter.kind for parameter in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return 2
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(kind in positional for kind in kinds)


def _pass_saga_input(saga_input: Any, results: Mapping[str, Any]) -> Any:
    return saga_input


def _always(saga_input: Any, results: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Step:
    """One local transaction (an activity) and, if it can be undone, its compensation.

    ``input(saga_input, results)`` builds the activity's input from the saga input and the values
    of the steps before it; the engine wraps it with the idempotency key. ``compensation_retry``
    defaults to ``retry``.
    """

    name: str
    action: ActivityRef
    compensation: ActivityRef | None = None
    kind: StepKind = StepKind.COMPENSATABLE
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: float | None = None
    input: InputBuilder = _pass_saga_input
    compensation_retry: RetryPolicy | None = None
    # How many arguments ``input`` takes, found once here: the engine builds inputs on every
    # replayed episode, and inspecting a signature each time would cost more than the build.
    _input_arity: int = field(init=False, repr=False, compare=False, default=2)

    def __post_init__(self) -> None:
        _check_name(self.name, "step")
        refs = [("action", self.action)]
        if self.compensation is not None:
            refs.append(("compensation", self.compensation))
        for role, ref in refs:
            if not (isinstance(ref, FunctionBuilder) or (isinstance(ref, str) and ref)):
                raise SagaDefinitionError(
                    f"step {self.name!r}: {role} must be an activity function or its name"
                )
        if self.timeout_seconds is not None and self.timeout_seconds <= 0:
            raise SagaDefinitionError(f"step {self.name!r}: timeout_seconds must be > 0")
        arity = builder_arity(self.input) if callable(self.input) else 0
        object.__setattr__(self, "_input_arity", arity)
        if arity not in (2, 3):
            raise SagaDefinitionError(
                f"step {self.name!r}: input must be a callable of (saga_input, results) or "
                "(saga_input, results, now)"
            )

    def build_input(self, saga_input: Any, results: Mapping[str, Any], now: datetime) -> Any:
        """The step's input: its builder's answer, given ``now`` if it asks for it."""
        if self._input_arity == 3:
            return self.input(saga_input, results, now)  # type: ignore[call-arg]
        return self.input(saga_input, results)  # type: ignore[call-arg]


@dataclass(frozen=True)
class ParallelGroup:
    """Compensatable steps scheduled together; on failure each one scheduled is compensated."""

    name: str
    steps: Sequence[Step]

    def __post_init__(self) -> None:
        _check_name(self.name, "parallel group")
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise SagaDefinitionError(f"parallel group {self.name!r} has no steps")


@dataclass(frozen=True)
class Constant:
    """A step input builder that always gives the same value (a fan-out member's item, or the
    input a plain-code saga passes to its step)."""

    value: Any

    def __call__(self, saga_input: Any, results: Mapping[str, Any]) -> Any:
        return self.value


@dataclass(frozen=True)
class FanOut:
    """One copy of ``step`` per item that ``items(saga_input)`` lists, run as a parallel group.

    Members are named ``{step.name}-{index}`` and each gets its item as input: e.g. one
    reservation per order line, each its own local transaction in its own partition. Items come
    from the saga input alone, so the members are known (and shown) from the start.
    """

    step: Step
    items: Callable[[Any], Sequence[Any]]

    def __post_init__(self) -> None:
        if not isinstance(self.step, Step):
            raise SagaDefinitionError(f"fan-out {self.step!r}: step must be a Step")
        if not callable(self.items):
            raise SagaDefinitionError(f"fan-out {self.step.name!r}: items must be a callable")

    @property
    def name(self) -> str:
        return self.step.name

    def expand(self, saga_input: Any) -> ParallelGroup:
        items = list(self.items(saga_input))
        return ParallelGroup(
            self.name,
            [
                dataclasses.replace(self.step, name=f"{self.name}-{index}", input=Constant(item))
                for index, item in enumerate(items)
            ],
        )

    def values(self, results: Mapping[str, Any]) -> list[Any]:
        """The members' results in item order (for the inputs of later steps)."""
        prefix = f"{self.name}-"
        members = [
            (int(key[len(prefix) :]), value)
            for key, value in results.items()
            if key.startswith(prefix) and key[len(prefix) :].isdigit()
        ]
        return [value for _, value in sorted(members)]


@dataclass(frozen=True)
class ApprovalGate:
    """Waits for a human decision (external event ``event_name``) when ``required`` says so;
    rejection or no answer within the timeout fails the saga. The timeout is
    ``timeout_seconds``, or ``timeout(saga_input)`` when given: configuration belongs in the
    saga input, so a setting changed mid-saga cannot change what a replay does."""

    name: str
    timeout_seconds: float = 86400.0
    required: Condition = _always
    event_name: str = "Approval"
    timeout: Callable[[Any], float] | None = None

    def __post_init__(self) -> None:
        _check_name(self.name, "approval gate")
        if self.timeout_seconds <= 0:
            raise SagaDefinitionError(f"approval gate {self.name!r}: timeout_seconds must be > 0")
        if not callable(self.required):
            raise SagaDefinitionError(f"approval gate {self.name!r}: required must be a callable")
        if self.timeout is not None and not callable(self.timeout):
            raise SagaDefinitionError(f"approval gate {self.name!r}: timeout must be a callable")

    def timeout_for(self, saga_input: Any) -> float:
        seconds = self.timeout_seconds if self.timeout is None else self.timeout(saga_input)
        if seconds <= 0:
            raise SagaDefinitionError(f"approval gate {self.name!r}: timeout {seconds!r} <= 0")
        return float(seconds)


Entry = Step | ParallelGroup | FanOut | ApprovalGate


@dataclass(frozen=True)
class SagaDefinition:
    """A named, ordered list of entries, checked against the saga rules when constructed.

    ``summary(saga_input, results)``, if given, says in business terms what the saga knows so
    far (say, an order's priced total once its reservations succeeded); the progress record
    publishes it as ``summary`` after every step, so clients see it before the saga finishes. It
    runs inside the orchestrator: deterministic, no I/O, and small (custom status is limited).
    """

    name: str
    steps: Sequence[Entry]
    summary: Callable[[Any, Mapping[str, Any]], Any] | None = None

    def __post_init__(self) -> None:
        from shared.saga.validation import validate  # here: validation imports this module

        object.__setattr__(self, "steps", tuple(self.steps))
        validate(self)

    def for_input(self, saga_input: Any) -> SagaDefinition:
        """This definition with each fan-out expanded into the group it makes for this input."""
        if not any(isinstance(entry, FanOut) for entry in self.steps):
            return self
        from shared.saga.validation import check_unique

        # Runs in every orchestrator episode, so the rules are not all checked again: a
        # member is a copy of a step validate() accepted, in the fan-out's place; only the
        # members' names are new.
        expanded = copy.copy(self)
        object.__setattr__(
            expanded,
            "steps",
            tuple(
                entry.expand(saga_input) if isinstance(entry, FanOut) else entry
                for entry in self.steps
            ),
        )
        check_unique(expanded)
        return expanded

    def members(self, saga_input: Any) -> list[Step | ApprovalGate]:
        """Every step and gate this input runs through, in order, groups and fan-outs listed
        member by member: the steps a saga's status lists."""
        listed: list[Step | ApprovalGate] = []
        for entry in self.for_input(saga_input).steps:
            if isinstance(entry, ParallelGroup):
                listed.extend(entry.steps)
            else:
                assert not isinstance(entry, FanOut)  # for_input expanded it
                listed.append(entry)
        return listed


def _check_name(name: object, what: str) -> None:
    # Names become idempotency keys "{instance}:{step}[:compensate]": a colon could collide.
    if not isinstance(name, str) or not name or ":" in name:
        raise SagaDefinitionError(f"{what} name {name!r} must be a non-empty string without ':'")
