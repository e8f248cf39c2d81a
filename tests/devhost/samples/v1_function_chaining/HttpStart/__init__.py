# ruff: noqa: N999 (v1 function folders are named after their functions)
"""v1 HTTP starter: the bindings are in function.json, the client arrives as a JSON string."""

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    instance_id = await client.start_new(req.route_params["functionName"])
    return client.create_check_status_response(req, instance_id)
