"""Fixture app for the saga engine tests: sagas built from SagaDefinitions over fake activities.

Each fake activity is registered under a real-looking name, appends what it did to `journal`,
and behaves as the saga input's `fail` map says for it:
  "business[:Code]"  return a business failure (code default "Refused")
  "fault"            raise on every attempt
  "fault:N"          raise on the first N attempts (counted per idempotency key)
  "slow"             block until the test sets `release` (to outlive a timeout)
  "malformed"        return something that is not a result envelope
Adding an activity's name to `repaired` clears its instruction (an operator's fix).
A compensation tombstones an action that never applied, so a late action has no effect
(apps/fakes.py: what this app's fakes share with apps/permanent's).

`style` picks how `shop` and `trio` run: "declarative" (run_saga over the definition) or "code"
(plain code over the same definition, with the try/finally chain); tests set it per run.
"""

import threading
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.saga import (
    PIVOT,
    RETRIABLE,
    ApprovalGate,
    ParallelGroup,
    RetryPolicy,
    SagaCode,
    SagaDefinition,
    Step,
    failure,
    run_saga,
    run_saga_code,
)
from tests.unit.apps.fakes import Fakes

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

style = "declarative"  # or "code"
FAKES = Fakes()
journal, repaired = FAKES.journal, FAKES.repaired
release = threading.Event()
slow_started = threading.Event()


def reset() -> None:
    FAKES.reset()
    release.clear()
    slow_started.clear()


def _behave(name: str, request: dict[str, Any]) -> Any:
    spec, attempt = FAKES.instruction(name, request)
    if spec == "slow":
        slow_started.set()
        release.wait(timeout=10)
    if spec.startswith("fault"):
        FAKES.note(name, request, "fault")
        raise RuntimeError(f"{name} attempt {attempt} broke")
    if spec.startswith("business"):
        FAKES.note(name, request, "business")
        return failure(spec.partition(":")[2] or "Refused", f"{name} refused")
    if spec == "malformed":
        FAKES.note(name, request, "malformed")
        return "not an envelope"
    return FAKES.go_through(name, request)


def _fake(name: str) -> Any:
    def activity(request: dict) -> Any:
        return _behave(name, request)

    # call_activity(function) resolves the function's __name__: keep it the activity's name.
    activity.__name__ = activity.__qualname__ = name
    return app.activity_trigger(input_name="request")(activity)


reserve, release_stock = _fake("reserve"), _fake("release_stock")
pick_a, unpick_a = _fake("pick_a"), _fake("unpick_a")
pick_b, unpick_b = _fake("pick_b"), _fake("unpick_b")
charge, refund = _fake("charge"), _fake("refund")
ship, confirm = _fake("ship"), _fake("confirm")

QUICK = RetryPolicy(max_attempts=3, first_interval_seconds=1, backoff_coefficient=2)

SHOP = SagaDefinition(
    "shop",
    [
        Step(
            "reserve",
            reserve,
            release_stock,
            retry=RetryPolicy(
                4, first_interval_seconds=5, backoff_coefficient=3, max_interval_seconds=30
            ),
            compensation_retry=QUICK,
        ),
        ParallelGroup(
            "parts",
            [
                Step("pick_a", pick_a, unpick_a, retry=QUICK),
                Step("pick_b", pick_b, unpick_b, retry=QUICK),
            ],
        ),
        ApprovalGate(
            "approval",
            timeout_seconds=86400,
            required=lambda saga_input, results: bool(saga_input.get("approval")),
        ),
        Step("charge", charge, refund, retry=QUICK, timeout_seconds=30),
        Step("ship", ship, kind=PIVOT, retry=QUICK),
        Step(
            "confirm",
            "confirm",
            kind=RETRIABLE,
            retry=RetryPolicy(3, first_interval_seconds=10, backoff_coefficient=2),
        ),
    ],
)

TRIO = SagaDefinition(
    "trio",
    [
        Step("first", reserve, release_stock, retry=QUICK),
        Step(
            "second",
            charge,
            refund,
            retry=QUICK,
            input=lambda saga_input, results: {**saga_input, "after": results["first"]},
        ),
        Step("third", ship, kind=PIVOT, retry=QUICK),
    ],
    summary=lambda saga_input, results: {"done": sorted(results)},
)

STAMPED = SagaDefinition(
    "stamped",
    [
        Step(
            "stamp",
            reserve,
            release_stock,
            retry=QUICK,
            input=lambda saga_input, results, now: {"at": now.isoformat()},
        )
    ],
)

DAY = 86400.0
# Waits longer than the Azure Storage provider's 6-day timer maximum: approval (30 days), a step
# timeout (10 days) and a retry backoff (8 days) must each run as durable timers of <= 6 days.
PATIENT = SagaDefinition(
    "patient",
    [
        Step("reserve", reserve, release_stock, retry=QUICK, timeout_seconds=10 * DAY),
        ApprovalGate(
            "approval",
            timeout_seconds=30 * DAY,
            required=lambda saga_input, results: bool(saga_input.get("approval")),
        ),
        Step(
            "charge",
            charge,
            refund,
            retry=RetryPolicy(2, first_interval_seconds=8 * DAY, max_interval_seconds=8 * DAY),
        ),
        Step("ship", ship, kind=PIVOT, retry=QUICK),
    ],
)

BROKEN = SagaDefinition(
    "broken",
    [Step("first", reserve, release_stock, input=lambda saga_input, results: results["nope"])],
)


def shop_steps(saga: SagaCode, saga_input: Any) -> Any:
    """SHOP as plain code: the same steps, in a try whose finally is the compensation chain."""
    try:
        yield from saga.step("reserve")
        yield from saga.step("parts")
        yield from saga.approval("approval", required=bool(saga_input.get("approval")))
        yield from saga.step("charge")
        yield from saga.step("ship")
        yield from saga.step("confirm")
    finally:
        yield from saga.compensations()


def trio_steps(saga: SagaCode, saga_input: Any) -> Any:
    try:
        first = yield from saga.step("first")
        yield from saga.step("second", {**saga_input, "after": first})
        yield from saga.step("third")
    finally:
        yield from saga.compensations()


def stamped_steps(saga: SagaCode, saga_input: Any) -> Any:
    try:
        yield from saga.step("stamp")  # no input given: the builder's, with the time
    finally:
        yield from saga.compensations()


def patient_steps(saga: SagaCode, saga_input: Any) -> Any:
    try:
        yield from saga.step("reserve")
        yield from saga.approval("approval", required=bool(saga_input.get("approval")))
        yield from saga.step("charge")
        yield from saga.step("ship")
    finally:
        yield from saga.compensations()


def _drive(context: df.DurableOrchestrationContext, definition: SagaDefinition, body: Any) -> Any:
    if style == "code":
        return run_saga_code(context, definition, context.get_input(), body)
    return run_saga(context, definition, context.get_input())


@app.orchestration_trigger(context_name="context")
def shop(context: df.DurableOrchestrationContext):
    return (yield from _drive(context, SHOP, shop_steps))


@app.orchestration_trigger(context_name="context")
def trio(context: df.DurableOrchestrationContext):
    return (yield from _drive(context, TRIO, trio_steps))


@app.orchestration_trigger(context_name="context")
def stamped(context: df.DurableOrchestrationContext):
    return (yield from _drive(context, STAMPED, stamped_steps))


@app.orchestration_trigger(context_name="context")
def broken(context: df.DurableOrchestrationContext):
    return (yield from run_saga(context, BROKEN, context.get_input()))


@app.orchestration_trigger(context_name="context")
def patient(context: df.DurableOrchestrationContext):
    return (yield from _drive(context, PATIENT, patient_steps))
