"""Mirrors azure-functions-durable-python samples-v2/orchestration_versioning: the orchestrator
takes the old or the new path by `context.version` (host.json `defaultVersion`, or `?version=` on
start), waits for a "Continue" event so the app can be redeployed meanwhile, then calls a
sub-orchestrator with an explicit version and with the default one."""

import logging

import azure.durable_functions as df
import azure.functions as func

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)  # noqa: N816 (the sample's name)


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    name = req.route_params.get("functionName")
    version = req.params.get("version")
    if version:
        instance_id = await client.start_new(name, version=version)
    else:
        instance_id = await client.start_new(name)
    logging.info("started %s (version %s)", instance_id, version)
    return client.create_check_status_response(req, instance_id)


@myApp.orchestration_trigger(context_name="context")
def my_orchestrator(context: df.DurableOrchestrationContext):
    # The version an instance started with stays its version, so replays keep their path.
    if context.version == "1.0":
        greeting = yield context.call_activity("activity_a")
    else:
        greeting = yield context.call_activity("activity_b")
    context.set_custom_status("Waiting for Continue event...")
    yield context.wait_for_external_event("Continue")
    context.set_custom_status("Continue event received")
    explicit = yield context.call_sub_orchestrator("my_sub_orchestrator", version="0.9")
    default = yield context.call_sub_orchestrator("my_sub_orchestrator")
    return [
        f"Orchestration version: {context.version}",
        f"Suborchestration version (explicit): {explicit}",
        f"Suborchestration version (default): {default}",
        greeting,
    ]


@myApp.orchestration_trigger(context_name="context")
def my_sub_orchestrator(context: df.DurableOrchestrationContext):
    return context.version


@myApp.activity_trigger(input_name="input")
def activity_a(input: str) -> str:
    return "Hello from A!"


@myApp.activity_trigger(input_name="input")
def activity_b(input: str) -> str:
    return "Hello from B!"
