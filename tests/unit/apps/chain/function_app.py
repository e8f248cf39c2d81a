"""Fixture app for the try/finally chain: the same three-step trip written naively and with
the template's chain, over fake activities that journal what they did.

Saga input:
  "fail": name    that activity applies its effect, then raises (its reply is lost), on every
                  attempt: the step failed, yet its effect happened
  "flaky": name   that activity raises on its first attempt only, before doing anything
  "bug": true     the plain-code trip raises between its second and third step
  "mistake": ...  the plain-code trip breaks a rule of the chain (see `trip_steps`)
Effects are idempotent per key, as the template's ledger makes them: a repeat changes nothing.
"""

import threading
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.saga import (
    PIVOT,
    RetryPolicy,
    SagaCode,
    SagaDefinition,
    Step,
    StepFailed,
    ok,
    run_saga_code,
)

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

journal: list[tuple[str, str, str]] = []  # (activity, idempotency key, "applied"/"repeat"/...)
_applied: set[str] = set()
_attempts: dict[str, int] = {}
_lock = threading.Lock()
UNDO = {"reserve": "release", "charge": "refund", "book": "unbook"}


def reset() -> None:
    with _lock:
        journal.clear()
        _applied.clear()
        _attempts.clear()


def _fake(name: str) -> Any:
    def activity(request: dict) -> Any:
        key, trip = request["key"], request.get("input") or {}
        with _lock:
            _attempts[key] = attempt = _attempts.get(key, 0) + 1
            if trip.get("flaky") == name and attempt == 1:
                journal.append((name, key, "fault"))
                raise RuntimeError(f"{name} is flaky")
            journal.append((name, key, "repeat" if key in _applied else "applied"))
            _applied.add(key)
        if trip.get("fail") == name:
            raise RuntimeError(f"{name} applied, then its reply was lost")
        return ok({"by": name})

    activity.__name__ = activity.__qualname__ = name
    return app.activity_trigger(input_name="request")(activity)


reserve, release = _fake("reserve"), _fake("release")
charge, refund = _fake("charge"), _fake("refund")
book, unbook = _fake("book"), _fake("unbook")
ship = _fake("ship")

ONCE = RetryPolicy(max_attempts=1)
TWICE = RetryPolicy(max_attempts=2, first_interval_seconds=10)
TRIP = SagaDefinition(
    "trip",
    [
        Step("reserve", reserve, release, retry=ONCE, compensation_retry=TWICE),
        Step("charge", charge, refund, retry=ONCE, compensation_retry=TWICE),
        Step("book", book, unbook, retry=ONCE, compensation_retry=TWICE),
        Step("ship", ship, kind=PIVOT, retry=ONCE),
    ],
)


@app.orchestration_trigger(context_name="context")
def naive_trip(context: df.DurableOrchestrationContext):
    """The trap: each success registers its compensation, and a plain `finally` runs them."""
    trip = context.get_input()
    undo: list[str] = []
    try:
        for name in ("reserve", "charge", "book"):
            call = {"key": f"{context.instance_id}:{name}", "input": trip}
            yield context.call_activity(name, call)
            undo.append(UNDO[name])
    finally:
        for name in reversed(undo):
            call = {"key": f"{context.instance_id}:{name}:compensate", "input": trip}
            yield context.call_activity(name, call)
    return "done"


def trip_steps(saga: SagaCode, trip: Any) -> Any:
    """The fix: the same steps, and the template's chain in the `finally`."""
    mistake = trip.get("mistake")
    try:
        yield from saga.step("reserve")
        if mistake == "twice":
            yield from saga.step("reserve")
        if mistake == "undeclared":
            yield from saga.step("teleport")
        if mistake == "after_end":
            yield from saga.compensations()  # not in the finally: the saga ends here
        yield from saga.step("charge")
        if trip.get("bug"):
            raise KeyError("a bug in the saga's own code")
        try:
            if mistake != "after_pivot":
                yield from saga.step("book")
        except StepFailed as failed:
            if not trip.get("tolerate"):
                raise
            assert failed.code == "ActivityFault"  # booked later by hand, say
        yield from saga.step("ship")
        if mistake == "after_pivot":
            yield from saga.step("book")
    finally:
        yield from saga.compensations()
        if trip.get("again"):
            yield from saga.compensations()  # acts once


def no_chain_steps(saga: SagaCode, trip: Any) -> Any:
    """A mistake: steps without the `finally` that compensates."""
    yield from saga.step("reserve")
    yield from saga.step("charge")


def returns_value_steps(saga: SagaCode, trip: Any) -> Any:
    try:
        yield from saga.step("reserve")
    finally:
        yield from saga.compensations()
    return "a value nobody would see"


@app.orchestration_trigger(context_name="context")
def chain_trip(context: df.DurableOrchestrationContext):
    return (yield from run_saga_code(context, TRIP, context.get_input(), trip_steps))


@app.orchestration_trigger(context_name="context")
def no_chain_trip(context: df.DurableOrchestrationContext):
    return (yield from run_saga_code(context, TRIP, context.get_input(), no_chain_steps))


@app.orchestration_trigger(context_name="context")
def returning_trip(context: df.DurableOrchestrationContext):
    return (yield from run_saga_code(context, TRIP, context.get_input(), returns_value_steps))
