"""The ordering and naming rules a saga definition must follow, checked at construction."""

from __future__ import annotations

from shared.saga.definition import (
    ApprovalGate,
    Entry,
    FanOut,
    ParallelGroup,
    SagaDefinition,
    SagaDefinitionError,
    Step,
    StepKind,
)
from shared.saga.signals import RESERVED_EVENTS


def validate(definition: SagaDefinition) -> None:
    """Raise SagaDefinitionError, naming the saga and the offending entry, on the first broken
    rule: compensatable steps, groups and gates first, then at most one pivot, then retriable
    steps; compensations exactly where they can run; unique names and approval events."""
    saga = definition.name
    if not isinstance(saga, str) or not saga:
        raise SagaDefinitionError(f"saga name {saga!r} must be a non-empty string")
    if not definition.steps:
        raise SagaDefinitionError(f"saga {saga!r} has no steps")
    for entry in definition.steps:
        if not isinstance(entry, Step | ParallelGroup | FanOut | ApprovalGate):
            raise SagaDefinitionError(f"saga {saga!r}: {entry!r} is not a Step, group or gate")
    check_unique(definition)
    pivot: str | None = None
    retriable: str | None = None
    for entry in definition.steps:
        kind = entry.kind if isinstance(entry, Step) else StepKind.COMPENSATABLE
        label = _label(entry)
        if isinstance(entry, ParallelGroup):
            for member in entry.steps:
                if member.kind is not StepKind.COMPENSATABLE:
                    raise SagaDefinitionError(
                        f"saga {saga!r}: step {member.name!r} in parallel group {entry.name!r} "
                        f"is {member.kind}; every member of a group must be compensatable"
                    )
                _check_compensation(saga, member)
        elif isinstance(entry, FanOut):
            if entry.step.kind is not StepKind.COMPENSATABLE:
                raise SagaDefinitionError(
                    f"saga {saga!r}: fan-out {entry.name!r} is {entry.step.kind}; the steps of "
                    "a fan-out run as a parallel group and must be compensatable"
                )
            _check_compensation(saga, entry.step)
        elif isinstance(entry, Step):
            _check_compensation(saga, entry)
        if kind is StepKind.COMPENSATABLE and (pivot or retriable):
            after = f"the pivot {pivot!r}" if pivot else f"the retriable step {retriable!r}"
            raise SagaDefinitionError(
                f"saga {saga!r}: {label} comes after {after}; compensatable steps, parallel "
                "groups and approval gates must all come before the pivot"
            )
        if kind is StepKind.PIVOT:
            if pivot:
                raise SagaDefinitionError(
                    f"saga {saga!r}: step {entry.name!r} is a second pivot (the first is "
                    f"{pivot!r}); a saga has at most one"
                )
            if retriable:
                raise SagaDefinitionError(
                    f"saga {saga!r}: pivot {entry.name!r} comes after the retriable step "
                    f"{retriable!r}; retriable steps must follow the pivot"
                )
            pivot = entry.name
        if kind is StepKind.RETRIABLE:
            retriable = retriable or entry.name


def _check_compensation(saga: str, step: Step) -> None:
    if step.kind is StepKind.COMPENSATABLE and step.compensation is None:
        raise SagaDefinitionError(
            f"saga {saga!r}: step {step.name!r} is compensatable but has no compensation; "
            "give it one, or make it the pivot or a retriable step"
        )
    if step.kind is not StepKind.COMPENSATABLE and step.compensation is not None:
        raise SagaDefinitionError(
            f"saga {saga!r}: step {step.name!r} is {step.kind} and must not have a compensation "
            "(only steps before the pivot are ever compensated)"
        )


def check_unique(definition: SagaDefinition) -> None:
    """Raise SagaDefinitionError when two entries or members share a name, or two gates an
    approval event (or one a reserved event)."""
    names: set[str] = set()
    events: set[str] = set()
    for entry in definition.steps:
        members = entry.steps if isinstance(entry, ParallelGroup) else ()
        for name in (entry.name, *(member.name for member in members)):
            if name in names:
                raise SagaDefinitionError(
                    f"saga {definition.name!r}: the name {name!r} is used twice; step, group "
                    "and gate names must be unique (they make the idempotency keys)"
                )
            names.add(name)
        if isinstance(entry, ApprovalGate):
            # The SDK keeps an event that nobody waits for and hands it to every later wait
            # on that name, so two gates must never share one.
            if entry.event_name in RESERVED_EVENTS or entry.event_name in events:
                raise SagaDefinitionError(
                    f"saga {definition.name!r}: approval gate {entry.name!r} cannot use the "
                    f"event name {entry.event_name!r} (reserved or used by another gate)"
                )
            events.add(entry.event_name)


def _label(entry: Entry) -> str:
    if isinstance(entry, FanOut):
        return f"fan-out {entry.name!r}"
    if isinstance(entry, ParallelGroup):
        return f"parallel group {entry.name!r}"
    if isinstance(entry, ApprovalGate):
        return f"approval gate {entry.name!r}"
    return f"step {entry.name!r} ({entry.kind})"
