"""Fixture app for the replay check: orchestrators that read the clock, random numbers or uuids."""

import datetime as dt
import random
import time
import uuid
from datetime import datetime

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.activity_trigger(input_name="value")
def stamp(value):
    # Activities may read the clock: they run once and their result is recorded.
    return {"value": value, "at": datetime.now().isoformat()}


@app.orchestration_trigger(context_name="context")
def clock_in_input(context: df.DurableOrchestrationContext):
    first = yield context.call_activity(echo, "a")
    second = yield context.call_activity(echo, {"at": datetime.now().isoformat()})
    return [first, second]


@app.orchestration_trigger(context_name="context")
def clock_through_module(context: df.DurableOrchestrationContext):
    day = dt.datetime.now().strftime("%Y-%m-%d")
    return (yield context.call_activity(echo, day))


@app.orchestration_trigger(context_name="context")
def time_time_in_input(context: df.DurableOrchestrationContext):
    return (yield context.call_activity(echo, int(time.time())))


@app.orchestration_trigger(context_name="context")
def random_branch(context: df.DurableOrchestrationContext):
    # As in a saga whose approval condition called random(): the path differs between replays.
    name = "echo" if random.random() < 0.5 else "stamp"
    first = yield context.call_activity(name, "x")
    return first


@app.orchestration_trigger(context_name="context")
def uuid_in_input(context: df.DurableOrchestrationContext):
    return (yield context.call_activity(echo, str(uuid.uuid4())))


@app.orchestration_trigger(context_name="context")
def clock_in_status(context: df.DurableOrchestrationContext):
    context.set_custom_status({"seen": datetime.utcnow().isoformat()})
    return (yield context.call_activity(echo, "done"))


@app.orchestration_trigger(context_name="context")
def deterministic(context: df.DurableOrchestrationContext):
    now = context.current_utc_datetime
    marker = str(context.new_uuid())
    stamped = yield context.call_activity(stamp, marker)
    later = yield context.call_activity(echo, now.isoformat())
    return [stamped["value"] == marker, later]
