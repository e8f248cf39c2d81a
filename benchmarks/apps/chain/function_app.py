"""Benchmark app: one orchestration of five sequential trivial activities."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="step")
def step(step: int) -> int:
    return step + 1


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    value = context.get_input()
    for _ in range(5):
        value = yield context.call_activity(step, value)
    return value
