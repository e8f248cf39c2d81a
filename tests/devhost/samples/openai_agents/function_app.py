"""Mirrors the load-time shape of azure-functions-durable-python samples-v2/openai_agents: at import
the app configures the OpenAI Agents SDK (package `openai-agents`, module `agents`), then
declares agent orchestrators with `durable_openai_agent_orchestrator`. Without that package
(and an Azure OpenAI endpoint) the app cannot load, on Azure as on devhost."""

import azure.durable_functions as df
import azure.functions as func
from agents import set_default_openai_client

set_default_openai_client(None)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="orchestrators/{functionName}")
@app.durable_client_input(client_name="client")
async def orchestration_starter(req: func.HttpRequest, client):
    instance_id = await client.start_new(req.route_params.get("functionName"))
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def hello_world(context):
    from basic import hello_world as agent

    return agent.main()
