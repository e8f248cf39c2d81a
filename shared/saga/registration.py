"""Checks at app load that every saga step's activity is an activity function of the app."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from azure.functions import FunctionRegister
from azure.functions.decorators.function_app import FunctionBuilder

from shared.saga.definition import (
    ActivityRef,
    FanOut,
    ParallelGroup,
    SagaDefinition,
    SagaDefinitionError,
    Step,
)

_ACTIVITY_TRIGGER = "activityTrigger"
_LISTED = 20  # registered names shown when none is close to the missing one


def check_registered(app: FunctionRegister, *definitions: SagaDefinition) -> None:
    """Raise SagaDefinitionError unless each step's action and compensation, in every
    definition, is an activity-trigger function registered with ``app`` (call it after the
    blueprints are registered). Names match ignoring case, as the host resolves them; a function
    passed by reference must also be the very function the app registered."""
    functions = _functions(app)
    activities: dict[str, str] = {}  # casefolded name -> the name the host knows
    others: dict[str, tuple[str, str]] = {}  # casefolded -> (function name, its trigger type)
    for function in functions:
        trigger: Any = function.get_trigger()
        kind = trigger.get_binding_name() if trigger is not None else "trigger-less"
        name = str(function.get_function_name())
        if kind == _ACTIVITY_TRIGGER:
            registered = getattr(trigger, "activity", None) or name  # as devhost indexes it
            activities.setdefault(registered.casefold(), registered)
        else:
            others.setdefault(name.casefold(), (name, kind))
    problems = [
        f"saga {definition.name!r}: step {step.name!r} {role} {problem}"
        for definition in definitions
        for step in _steps(definition)
        for role, ref in _refs(step)
        if (problem := _problem(ref, functions, activities, others)) is not None
    ]
    if problems:
        # One line: devhost and the worker show a load failure's message on a single line.
        raise SagaDefinitionError("; ".join(problems))


def _functions(app: FunctionRegister) -> list[Any]:
    # Not app.get_functions(): it may run only once per app (a second call finds every name
    # taken and raises), and the worker calls it when it indexes the app after this check. The
    # builders hold the same Function objects get_functions() returns, still unvalidated.
    return [builder._function for builder in app._function_builders]


def _steps(definition: SagaDefinition) -> Iterator[Step]:
    for entry in definition.steps:
        if isinstance(entry, Step):
            yield entry
        elif isinstance(entry, ParallelGroup):
            yield from entry.steps
        elif isinstance(entry, FanOut):
            yield entry.step
        # An ApprovalGate calls no activity.


def _refs(step: Step) -> Iterator[tuple[str, ActivityRef]]:
    yield "action", step.action
    if step.compensation is not None:
        yield "compensation", step.compensation


def _problem(
    ref: ActivityRef,
    functions: list[Any],
    activities: dict[str, str],
    others: dict[str, tuple[str, str]],
) -> str | None:
    """What is wrong with one reference, or None when the host will find the activity."""
    if isinstance(ref, FunctionBuilder):
        function = ref._function
        # What call_activity sends for a FunctionBuilder: the Python function's own name.
        name = function._name
        trigger: Any = function.get_trigger()
        kind = trigger.get_binding_name() if trigger is not None else "trigger-less"
        if kind != _ACTIVITY_TRIGGER:
            return f"names the {kind} function {name!r}, not an activity"
        if not any(function is known for known in functions):
            same_name = activities.get(name.casefold())
            elsewhere = (
                f"; the activity {same_name!r} the app registered is a different function"
                if same_name
                else ""
            )
            return (
                f"{name!r} is an activity this app never registered (is its blueprint "
                f"registered with app.register_functions?){elsewhere}"
            )
        if name.casefold() not in activities:
            registered = getattr(trigger, "activity", None) or function.get_function_name()
            return (
                f"{name!r} is registered as the activity {registered!r}, but call_activity "
                f"calls a function by its Python name {name!r}: pass {registered!r} instead"
            )
        return None
    folded = ref.casefold()
    if folded in activities:
        return None
    if folded in others:
        name, kind = others[folded]
        return f"{ref!r} names the {kind} function {name!r}, not an activity"
    return f"{ref!r} is not an activity of this app{_hint(ref, activities)}"


def _hint(name: str, activities: dict[str, str]) -> str:
    """Close matches (difflib, ignoring case), else the activities the app does register."""
    close = difflib.get_close_matches(name.casefold(), list(activities), n=3, cutoff=0.6)
    if close:
        return f" (did you mean {' or '.join(repr(activities[c]) for c in close)}?)"
    if not activities:
        return " (the app registers no activities)"
    names = sorted(activities.values(), key=str.casefold)
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return f" (registered activities: {', '.join(names[:_LISTED])}{more})"
