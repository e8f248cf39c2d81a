"""Fixture app for the kill -9 test: slow multi-step orchestrations started over HTTP."""

import json
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="steps/{count:int}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_steps(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    instance_id = await client.start_new("steps", None, int(req.route_params["count"]))
    return client.create_check_status_response(req, instance_id)


@app.activity_trigger(input_name="step")
def slow_step(step: dict) -> int:
    """Records each execution in the file named by STEP_LOG, then takes a little while."""
    with open(os.environ["STEP_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({**step, "pid": os.getpid()}) + "\n")
    time.sleep(0.1)
    return step["i"]


@app.orchestration_trigger(context_name="context")
def steps(context: df.DurableOrchestrationContext):
    done = []
    for i in range(context.get_input()):
        done.append((yield context.call_activity(slow_step, {"id": context.instance_id, "i": i})))
    return done
