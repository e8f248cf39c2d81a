"""Fixture app: activities that run for 30 s (on a thread, and on the event loop), to show that
stopping devhost does not wait for them. Each writes its pid to $STARTED_FILE when it starts."""

import asyncio
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _started() -> None:
    with open(os.environ["STARTED_FILE"], "a") as log:
        log.write(f"{os.getpid()}\n")


@app.orchestration_trigger(context_name="context")
def slow(context: df.DurableOrchestrationContext):
    yield context.task_all(
        [context.call_activity("sleep_on_thread", 30), context.call_activity("sleep_on_loop", 30)]
    )


@app.activity_trigger(input_name="seconds")
def sleep_on_thread(seconds: int) -> None:
    _started()
    time.sleep(seconds)


@app.activity_trigger(input_name="seconds")
async def sleep_on_loop(seconds: int) -> None:
    _started()
    await asyncio.sleep(seconds)
