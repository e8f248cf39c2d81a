"""Fixture app for the executor's fidelity tests: orchestrators whose endings, ids and failures
the real host decides in particular ways. ``code`` stands for the deployed code: tests change it
between episodes to play a redeployment."""

import threading
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
code = {"variant": "old"}
gates: dict[str, threading.Event] = {}


def gate(name: str) -> threading.Event:
    return gates.setdefault(name, threading.Event())


@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.activity_trigger(input_name="value")
def other(value):
    return f"other {value}"


@app.activity_trigger(input_name="name")
def held(name):
    """Finishes only when the test opens its gate."""
    gate(name).wait(30)
    return name


@app.activity_trigger(input_name="message")
def boom(message):
    raise ValueError(message)


@app.orchestration_trigger(context_name="context")
def redeployed(context: df.DurableOrchestrationContext):
    """Its second call is held open while the test 'redeploys' the code."""
    gate_name = context.get_input()
    first = yield context.call_activity("echo", "a")
    variant = code["variant"]
    if variant == "old":
        second = yield context.call_activity("held", gate_name)
    elif variant == "recased":
        second = yield context.call_activity("HELD", gate_name)
    elif variant == "renamed":
        second = yield context.call_activity("other", "b")
    elif variant == "timer":
        second = yield context.create_timer(context.current_utc_datetime + timedelta(seconds=5))
    else:  # "removed": the second call is gone
        return [first]
    third = yield context.call_activity("echo", "c")
    return [first, str(second), third]


@app.orchestration_trigger(context_name="context")
def sub_redeployed(context: df.DurableOrchestrationContext):
    name = "child_held" if code["variant"] == "old" else "other_child"
    first = yield context.call_sub_orchestrator(name, context.get_input())
    yield context.call_activity("echo", "after")
    return first


@app.orchestration_trigger(context_name="context")
def child_held(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("held", context.get_input()))


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    return f"child of {context.parent_instance_id}"


@app.orchestration_trigger(context_name="context")
def other_child(context: df.DurableOrchestrationContext):
    return "other child"


@app.orchestration_trigger(context_name="context")
def returns_with_open_timer(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    winner = yield context.task_any([context.call_activity("echo", "fast"), timer])
    return winner.result  # the timer is neither awaited nor cancelled


@app.orchestration_trigger(context_name="context")
def raises_with_open_activity(context: df.DurableOrchestrationContext):
    slow = context.call_activity("held", context.get_input())
    fast = context.call_activity("boom", "broken")
    yield context.task_any([slow, fast])
    raise RuntimeError("gave up early")


@app.orchestration_trigger(context_name="context")
def compensates_after_fail_fast(context: df.DurableOrchestrationContext):
    gate_name = context.get_input()
    try:
        yield context.task_all(
            [context.call_activity("boom", "first"), context.call_activity("held", gate_name)]
        )
    except Exception:
        undone = yield context.call_activity("echo", "compensated")
        return undone
    return "no failure"


@app.orchestration_trigger(context_name="context")
def retried_twice(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity_with_retry("boom", df.RetryOptions(60_000, 2), "always")
    except Exception as error:
        return str(error)[:60]
    return "succeeded"


@app.orchestration_trigger(context_name="context")
def eternal(context: df.DurableOrchestrationContext):
    generation = context.get_input() or 0
    if generation == 0:
        yield context.wait_for_external_event("Next")
        context.continue_as_new(1)
        return None
    event = yield context.wait_for_external_event("Ping")
    return {"generation": generation, "event": event}


@app.orchestration_trigger(context_name="context")
def status_then_none(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "one"})
    yield context.call_activity("echo", 1)
    context.set_custom_status(None)
    yield context.wait_for_external_event("Go")
    return "done"


@app.orchestration_trigger(context_name="context")
def status_of_size(context: df.DurableOrchestrationContext):
    size = context.get_input()
    context.set_custom_status("x" * size)  # a JSON string: two quotes more
    yield context.call_activity("echo", 1)
    return "done"


@app.orchestration_trigger(context_name="context")
def status_too_big_later(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", 1)
    context.set_custom_status("y" * 9000)
    yield context.call_activity("echo", 2)
    return "done"


@app.orchestration_trigger(context_name="context")
def long_timer(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=10))
    return "woke"


@app.orchestration_trigger(context_name="context")
def calls_missing(context: df.DurableOrchestrationContext):
    yield context.call_activity("no_such_activity", 1)
    return "never"


@app.orchestration_trigger(context_name="context")
def calls_with_other_casing(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("ECHO", "loud")
    child_result = yield context.call_sub_orchestrator("CHILD", None)
    return [result, child_result]


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    return (yield context.call_sub_orchestrator("child", None))


@app.orchestration_trigger(context_name="context")
def raises_empty(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", 1)
    raise ValueError()


@app.orchestration_trigger(context_name="context")
def versioned(context: df.DurableOrchestrationContext):
    generation = context.get_input() or 0
    if generation == 0:
        context.continue_as_new(1)
        return None
    explicit = yield context.call_sub_orchestrator("version_of", None, version="0.9")
    default = yield context.call_sub_orchestrator("version_of", None)
    return [context.version, explicit, default]


@app.orchestration_trigger(context_name="context")
def version_of(context: df.DurableOrchestrationContext):
    return context.version


@app.orchestration_trigger(context_name="context")
def refused_call(context: df.DurableOrchestrationContext):
    """Calls the extension refuses before scheduling them, picked by the input."""
    kind = context.get_input()
    if kind == "own_id":
        return (yield context.call_sub_orchestrator("child", None, context.instance_id))
    if kind == "at_id":
        return (yield context.call_sub_orchestrator("child", None, "@entity-like"))
    seven_days_ms = 7 * 24 * 3600 * 1000
    return (yield context.call_activity_with_retry("echo", df.RetryOptions(seven_days_ms, 2), 1))
