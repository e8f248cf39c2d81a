"""Fixture app for errors no retry can fix: a small saga over fake activities wrapped in
`saga_activity`, as every real activity is.

`order`: book (compensation unbook), pay (compensation refund), ship (pivot). Each fake
activity appends what it did to `journal` and behaves as the saga input's `fail` map says:
  "invalid"      parse its call as a ChargePayment, which the saga input is not (InvalidStepInput)
  "reused"       raise IdempotencyConflict for its key
  "permanent"    raise PermanentError
  "too_large"    raise TransactionTooLarge
  "value_error"  raise a plain ValueError on every attempt (not translated: retried)
  "fault:N"      raise RuntimeError on the first N attempts (counted per idempotency key)
  "business"     return a business failure "Refused"
Adding an activity's name to `repaired` clears its instruction (an operator's fix).
A compensation tombstones an action that never applied, so a late action has no effect
(apps/fakes.py: what this app's fakes share with apps/saga's).
"""

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from contracts.order import ChargePayment
from shared.errors import IdempotencyConflict, PermanentError, TransactionTooLarge
from shared.saga import PIVOT, RetryPolicy, SagaDefinition, Step, failure, run_saga
from shared.saga.activity import saga_activity
from shared.saga.call import StepCall
from tests.unit.apps.fakes import Fakes

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

FAKES = Fakes()
journal, repaired = FAKES.journal, FAKES.repaired


def reset() -> None:
    FAKES.reset()


def _behave(name: str, request: dict[str, Any]) -> Any:
    spec, attempt = FAKES.instruction(name, request)
    if spec:
        FAKES.note(name, request, spec)
    if spec == "invalid":
        StepCall.parse(request, ChargePayment)
    elif spec == "reused":
        raise IdempotencyConflict(request["key"])
    elif spec == "permanent":
        raise PermanentError(f"{name}: the provider closed this account for good")
    elif spec == "too_large":
        raise TransactionTooLarge(request["key"], "100 operations")
    elif spec == "value_error":
        raise ValueError(f"{name} attempt {attempt} found a broken invariant")
    elif spec.startswith("fault"):
        raise RuntimeError(f"{name} attempt {attempt} broke")
    elif spec == "business":
        return failure("Refused", f"{name} refused")
    return FAKES.go_through(name, request)


def _fake(name: str) -> Any:
    def activity(request: dict) -> Any:
        return _behave(name, request)

    # call_activity(function) resolves the function's __name__: keep it the activity's name.
    activity.__name__ = activity.__qualname__ = name
    return app.activity_trigger(input_name="request")(saga_activity(activity))


book, unbook = _fake("book"), _fake("unbook")
pay, refund = _fake("pay"), _fake("refund")
ship = _fake("ship")

QUICK = RetryPolicy(max_attempts=3, first_interval_seconds=1, backoff_coefficient=2)

ORDER = SagaDefinition(
    "order",
    [
        Step("book", book, unbook, retry=QUICK),
        Step("pay", pay, refund, retry=QUICK),
        Step("ship", ship, kind=PIVOT, retry=QUICK),
    ],
)


@app.orchestration_trigger(context_name="context")
def order(context: df.DurableOrchestrationContext):
    return (yield from run_saga(context, ORDER, context.get_input()))
