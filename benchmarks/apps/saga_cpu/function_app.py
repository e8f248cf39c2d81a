"""Benchmark app: the same five activity calls made by the saga engine and by hand."""

import azure.durable_functions as df
import azure.functions as func

from shared.saga import PIVOT, RETRIABLE, SagaDefinition, Step, ok, parse_envelope, run_saga

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
NAMES = ["reserve", "charge", "pack", "ship", "confirm"]


@app.activity_trigger(input_name="call")
def forward(call: dict) -> dict:
    return ok({"step": call["key"].rsplit(":", 1)[-1]})


@app.activity_trigger(input_name="call")
def undo(call: dict) -> dict:
    return ok(None)


ENGINE_SAGA = SagaDefinition(
    "bench",
    [
        Step("reserve", forward, undo),
        Step("charge", forward, undo),
        Step("pack", forward, undo),
        Step("ship", forward, kind=PIVOT),
        Step("confirm", forward, kind=RETRIABLE),
    ],
)


@app.orchestration_trigger(context_name="context")
def engine(context: df.DurableOrchestrationContext):
    return (yield from run_saga(context, ENGINE_SAGA, context.get_input()))


def _by_hand(context: df.DurableOrchestrationContext, race_signals: bool):
    """What a careful hand-written saga does on the happy path: each call with the payload the
    engine sends (its idempotency key, the saga's input, when it was issued and the attempt's
    number), the envelope checked, progress published as custom status and, with ``race_signals``,
    each step raced against the saga's two listeners, as the engine races them: Cancel, and the
    operator's RetryCompensation (a stray one is absorbed, so it cannot pre-approve a retry)."""
    saga_input = context.get_input()
    cancel = retry = None
    if race_signals:
        cancel = context.wait_for_external_event("Cancel")
        retry = context.wait_for_external_event("RetryCompensation")
    steps = [{"name": name, "status": "Pending", "attempts": 0} for name in NAMES]
    results = {}
    for step in steps:
        step["status"], step["attempts"] = "Running", 1
        context.set_custom_status({"saga": "bench", "status": "Running", "steps": steps})
        payload = {
            "key": f"{context.instance_id}:{step['name']}",
            "input": saga_input,
            "issuedAt": context.current_utc_datetime.isoformat(),
            "attempt": 1,
        }
        activity = context.call_activity(forward, payload)
        if cancel is None:
            yield activity
        while cancel is not None:
            winner = yield context.task_any([activity, cancel, retry])
            if winner is cancel:
                raise RuntimeError("cancelled (compensation is not part of this benchmark)")
            if winner is activity:
                break
            retry = context.wait_for_external_event("RetryCompensation")
        envelope = parse_envelope(activity.result)
        if not envelope.ok:
            raise RuntimeError(f"{step['name']} failed")
        results[step["name"]] = envelope.value
        step["status"] = "Succeeded"
    context.set_custom_status({"saga": "bench", "status": "Completed", "steps": steps})
    return {"status": "Completed", "results": results}


@app.orchestration_trigger(context_name="context")
def by_hand(context: df.DurableOrchestrationContext):
    return (yield from _by_hand(context, race_signals=True))


@app.orchestration_trigger(context_name="context")
def by_hand_no_cancel(context: df.DurableOrchestrationContext):
    return (yield from _by_hand(context, race_signals=False))
