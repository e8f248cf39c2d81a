"""Mirrors azure-functions-durable-python samples-v2/function_chaining: an HTTP starter that takes
the orchestrator's name from its route, and an orchestrator that calls one activity three times
in a row. Its host.json reproduces the sample's defect (two JSON objects one after the other)."""

import logging

import azure.durable_functions as df
import azure.functions as func

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)  # noqa: N816 (the sample's name)


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    instance_id = await client.start_new(req.route_params.get("functionName"))
    logging.info("started %s", instance_id)
    return client.create_check_status_response(req, instance_id)


@myApp.orchestration_trigger(context_name="context")
def my_orchestrator(context: df.DurableOrchestrationContext):
    tokyo = yield context.call_activity("say_hello", "Tokyo")
    seattle = yield context.call_activity("say_hello", "Seattle")
    london = yield context.call_activity("say_hello", "London")
    return [tokyo, seattle, london]


@myApp.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"
