"""Refuses at load an app whose functions need triggers or bindings devhost does not provide.

On Azure such an app runs; devhost would only fail when the function is called (or never call
it), so it says up front which functions it cannot run and why.
"""

from __future__ import annotations

from typing import Any

from azure.functions.decorators.constants import (
    ACTIVITY_TRIGGER,
    DURABLE_CLIENT,
    ENTITY_TRIGGER,
    HTTP_OUTPUT,
    HTTP_TRIGGER,
    ORCHESTRATION_TRIGGER,
    TIMER_TRIGGER,
)

RETURN = "$return"

RUN_TRIGGERS = frozenset({HTTP_TRIGGER, TIMER_TRIGGER, ORCHESTRATION_TRIGGER, ACTIVITY_TRIGGER})
# The functions devhost passes a durable client (orchestrators get their context only).
CLIENT_TRIGGERS = frozenset({HTTP_TRIGGER, TIMER_TRIGGER, ACTIVITY_TRIGGER})

SUPPORTED = (
    "devhost runs HTTP, timer, orchestration and activity triggers; besides its trigger a "
    "function may declare only durable client inputs (HTTP, timer and activity functions) and, "
    "for an HTTP function, its HTTP response ($return)"
)

_OUT = 1


class UnsupportedApp(Exception):
    """The app declares functions devhost cannot run."""


def check_supported(functions: list[Any]) -> None:
    """Raise UnsupportedApp naming every function devhost cannot run, and why."""
    problems = [
        f"function '{function.get_function_name()}' uses {reason}"
        for function in functions
        for reason in _reasons(function)
    ]
    if problems:
        raise UnsupportedApp(f"devhost cannot run this app: {'; '.join(problems)}. {SUPPORTED}.")


def _reasons(function: Any) -> list[str]:
    trigger = function.get_trigger()
    kind = trigger.get_binding_name()
    if kind == ENTITY_TRIGGER:
        return ["a durable entity trigger (entities are not implemented)"]
    reasons = [] if kind in RUN_TRIGGERS else [f"a {kind} trigger, which devhost does not run"]
    for binding in function.get_bindings():
        if binding is not trigger:
            reasons += _binding_reasons(kind, binding)
    return reasons


def _binding_reasons(trigger: str, binding: Any) -> list[str]:
    if binding.type == DURABLE_CLIENT:
        if trigger in CLIENT_TRIGGERS or trigger not in RUN_TRIGGERS:
            return []
        return [
            f"a durable client input '{binding.name}', which devhost passes only to HTTP, timer "
            "and activity functions"
        ]
    if binding.type == HTTP_OUTPUT and binding.name == RETURN:
        if trigger == HTTP_TRIGGER or trigger not in RUN_TRIGGERS:
            return []
        return ["an HTTP response output, which devhost provides only to HTTP functions"]
    direction = "output" if int(binding.direction) == _OUT else "input"
    return [
        f"a {binding.type} {direction} binding '{binding.name}', which devhost does not provide"
    ]
