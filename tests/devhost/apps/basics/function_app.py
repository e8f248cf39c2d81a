"""Fixture app for devhost tests: small orchestrations covering the durable features."""

import threading
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
attempts: dict[str, int] = {}


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}"


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    """Fails on the first attempts for a key ('fail2:x' fails twice), then succeeds."""
    attempts[key] = attempts.get(key, 0) + 1
    failures = int(key.split(":")[0].removeprefix("fail"))
    if attempts[key] <= failures:
        raise ValueError(f"attempt {attempts[key]} of {key} failed")
    return f"{key} ok after {attempts[key]}"


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    results = []
    for city in context.get_input() or ["Tokyo", "Seattle", "London"]:
        results.append((yield context.call_activity(say_hello, city)))
    return results


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all(
        [context.call_activity(say_hello, str(i)) for i in range(count)]
    )
    return len(results)


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    key = context.get_input()
    first = yield context.call_activity(say_hello, "before")
    try:
        value = yield context.call_activity_with_retry(flaky, df.RetryOptions(1000, 3), key)
    except Exception as error:
        value = f"gave up: {str(error).splitlines()[0]}"
    after = yield context.call_activity(say_hello, "after")
    return [first, value, after]


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    """Waits on a durable timer for the number of seconds given."""
    seconds = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    return "woke"


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """Races an external event against a timeout, cancelling the losing timer."""
    timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=24))
    answer = context.wait_for_external_event("Approval")
    winner = yield context.task_any([answer, timeout])
    if winner == answer:
        timeout.cancel()
        return {"approved": answer.result}
    return "timed out"


@app.orchestration_trigger(context_name="context")
def forgetful(context: df.DurableOrchestrationContext):
    """Returns without cancelling its timer: the host keeps it Running until the timer fires."""
    timeout = context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    answer = context.wait_for_external_event("Go")
    yield context.task_any([answer, timeout])
    return "done"


@app.orchestration_trigger(context_name="context")
def two_events(context: df.DurableOrchestrationContext):
    first = yield context.wait_for_external_event("First")
    second = yield context.wait_for_external_event("Second")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    children = [
        context.call_sub_orchestrator("sequence", [str(i)], f"{context.instance_id}-child{i}")
        for i in range(2)
    ]
    results = yield context.task_all(children)
    generated = yield context.call_sub_orchestrator("sequence", ["x"])
    return [results, generated]


@app.orchestration_trigger(context_name="context")
def parent_of_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator_with_retry(
            "explodes", df.RetryOptions(500, 2), "child boom"
        )
    except Exception as error:
        return f"child failed: {str(error).splitlines()[0]}"
    return "unexpected"


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    """Counts to its input with continue-as-new, one execution per step."""
    state = context.get_input()
    yield context.call_activity(say_hello, str(state["n"]))
    if state["n"] < state["to"]:
        context.continue_as_new({"n": state["n"] + 1, "to": state["to"]})
        return None
    return state["n"]


@app.orchestration_trigger(context_name="context")
def reporter(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "starting"})
    yield context.call_activity(say_hello, "one")
    context.set_custom_status({"stage": "halfway"})
    yield context.wait_for_external_event("Continue")
    context.set_custom_status({"stage": "done"})
    return "reported"


@app.orchestration_trigger(context_name="context")
def explodes(context: df.DurableOrchestrationContext):
    message = context.get_input()
    yield context.call_activity(say_hello, "first")
    raise RuntimeError(message)


compensations: list[str] = []


@app.activity_trigger(input_name="note")
def record(note: str) -> str:
    compensations.append(note)
    return note


@app.orchestration_trigger(context_name="context")
def naive_finally(context: df.DurableOrchestrationContext):
    """The GeneratorExit trap: a `finally` that yields runs at every episode boundary."""
    try:
        yield context.call_activity(say_hello, "step 1")
        yield context.call_activity(say_hello, "step 2")
    finally:
        yield context.call_activity(record, f"compensate {context.instance_id}")
    return "finished"


@app.orchestration_trigger(context_name="context")
def careful_except(context: df.DurableOrchestrationContext):
    """The right shape: compensate in `except Exception`, which GeneratorExit never enters."""
    try:
        yield context.call_activity(say_hello, "step 1")
        yield context.call_activity(flaky, context.get_input())
    except Exception:
        yield context.call_activity(record, f"compensate {context.instance_id}")
        return "compensated"
    return "finished"


deliveries: dict[str, int] = {}
rendezvous = threading.Barrier(2, timeout=5)
gate = threading.Event()
blocked_started = threading.Event()


@app.activity_trigger(input_name="key")
def touch(key: str) -> str:
    """Counts its deliveries per key; returns the delivery number."""
    deliveries[key] = deliveries.get(key, 0) + 1
    return f"{key}#{deliveries[key]}"


@app.activity_trigger(input_name="key")
def meet(key: str) -> str:
    """Passes only when two deliveries run at the same time (else the barrier times out)."""
    rendezvous.wait()
    return key


@app.activity_trigger(input_name="key")
def blocked(key: str) -> str:
    """Counts deliveries, then waits until the test opens the gate."""
    deliveries[key] = deliveries.get(key, 0) + 1
    blocked_started.set()
    gate.wait(timeout=10)
    return key


@app.orchestration_trigger(context_name="context")
def call_one(context: df.DurableOrchestrationContext):
    """Calls the activity named in the input once, then once more say_hello."""
    request = context.get_input()
    value = yield context.call_activity(request["activity"], request["key"])
    yield context.call_activity(say_hello, "done")
    return value


@app.orchestration_trigger(context_name="context")
def touches_then_waits(context: df.DurableOrchestrationContext):
    """Touches its input key, then waits for Continue and returns what the touch answered."""
    touched = yield context.call_activity(touch, context.get_input())
    context.set_custom_status("touched")
    yield context.wait_for_external_event("Continue")
    return touched


@app.orchestration_trigger(context_name="context")
def parks(context: df.DurableOrchestrationContext):
    """Parks as a saga does when it needs an operator: after a step fails for good, its custom
    status says NeedsAttention (and why) and it waits, Running, for the operator's event."""
    yield context.call_activity(say_hello, "reserve")
    context.set_custom_status(
        {
            "status": "NeedsAttention",
            "attention": {
                "step": "charge",
                "code": "CardDeclined",
                "message": "insufficient funds",
            },
        }
    )
    answer = yield context.wait_for_external_event("RetryCompensation")
    context.set_custom_status({"status": "Completed", "attention": None})
    return answer


# A timer function recurs forever, as most apps' do: waits must not take its occurrences for
# progress (tests/devhost/test_wait_fail_fast.py).
hourly_ticks: list[str] = []


@app.timer_trigger(arg_name="timer", schedule="0 0 * * * *")
def hourly(timer: func.TimerRequest) -> None:
    hourly_ticks.append("tick")
