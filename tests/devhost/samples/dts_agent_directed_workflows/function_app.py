"""Mirrors the durable shape of Durable-Task-Scheduler samples/durable-functions/python/
agent-directed-workflows: a chat session is a durable entity that HTTP functions signal and
read through their durable client. (The sample's LLM and Redis calls are left out: the entity
here only keeps the messages.) devhost has no durable entities, so it must refuse this app."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context")
def chat_agent_entity(context: df.DurableEntityContext):
    history = context.get_state(lambda: [])
    if context.operation_name == "message":
        history.append({"user": context.get_input(), "agent": "noted"})
    elif context.operation_name == "reset":
        history = []
    context.set_state(history)


def session(req: func.HttpRequest) -> df.EntityId:
    return df.EntityId("chat_agent_entity", req.route_params["sessionId"])


@app.route(route="chat/{sessionId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def send_message(req: func.HttpRequest, client) -> func.HttpResponse:
    await client.signal_entity(session(req), "message", req.get_body().decode())
    return func.HttpResponse(status_code=202)


@app.route(route="chat/{sessionId}/history", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_history(req: func.HttpRequest, client) -> func.HttpResponse:
    state = await client.read_entity_state(session(req))
    body = json.dumps(state.entity_state if state.entity_exists else [])
    return func.HttpResponse(body, mimetype="application/json")


@app.route(route="chat/{sessionId}/reset", methods=["POST"])
@app.durable_client_input(client_name="client")
async def reset_session(req: func.HttpRequest, client) -> func.HttpResponse:
    await client.signal_entity(session(req), "reset")
    return func.HttpResponse(status_code=202)
