"""Fixture app whose saga names an activity the app never registered: it must fail at load.

The `ship` step calls "ship_order", but the app's activity is `ship`; `check_registered` at the
end of the module refuses the app while it is imported, before any instance could be started.
"""

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.saga import PIVOT, SagaDefinition, Step, check_registered, ok, run_saga

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="request")
def reserve(request: dict) -> Any:
    return ok({"by": "reserve"})


@app.activity_trigger(input_name="request")
def release_stock(request: dict) -> Any:
    return ok({"by": "release_stock"})


@app.activity_trigger(input_name="request")
def ship(request: dict) -> Any:
    return ok({"by": "ship"})


DEFINITION = SagaDefinition(
    "delivery",
    [
        Step("reserve", reserve, release_stock),
        Step("ship", "ship_order", kind=PIVOT),  # the mistake: no activity is named ship_order
    ],
)


@app.orchestration_trigger(context_name="context")
def delivery(context: df.DurableOrchestrationContext):
    return (yield from run_saga(context, DEFINITION, context.get_input()))


check_registered(app, DEFINITION)
