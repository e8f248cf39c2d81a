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


def _by_hand(context: df.DurableOrchestrationContext, race_cancel: bool):
    """What a careful hand-written saga does on the happy path: each call with its idempotency
    key, the envelope checked, progress published as custom status and, with ``race_cancel``,
    each step raced against a Cancel event as the saga semantics require."""
    saga_input = context.get_input()
    cancel = context.wait_for_external_event("Cancel") if race_cancel else None
    steps = [{"name": name, "status": "Pending", "attempts": 0} for name in NAMES]
    results = {}
    for step in steps:
        step["status"], step["attempts"] = "Running", 1
        context.set_custom_status({"saga": "bench", "status": "Running", "steps": steps})
        payload = {"key": f"{context.instance_id}:{step['name']}", "input": saga_input}
        activity = context.call_activity(forward, payload)
        if cancel is None:
            yield activity
        elif (yield context.task_any([activity, cancel])) is cancel:
            raise RuntimeError("cancelled (compensation is not part of this benchmark)")
        envelope = parse_envelope(activity.result)
        if not envelope.ok:
            raise RuntimeError(f"{step['name']} failed")
        results[step["name"]] = envelope.value
        step["status"] = "Succeeded"
    context.set_custom_status({"saga": "bench", "status": "Completed", "steps": steps})
    return {"status": "Completed", "results": results}


@app.orchestration_trigger(context_name="context")
def by_hand(context: df.DurableOrchestrationContext):
    return (yield from _by_hand(context, race_cancel=True))


@app.orchestration_trigger(context_name="context")
def by_hand_no_cancel(context: df.DurableOrchestrationContext):
    return (yield from _by_hand(context, race_cancel=False))
