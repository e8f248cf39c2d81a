"""Mirrors Azure-Samples/durable-functions-quickstart-python-azd src/: an HTTP starter that takes
the orchestrator's name from its route, and an orchestrator that fans out to an async activity
fetching the titles of four Microsoft Learn pages with aiohttp, then joins them with "; ".

One change, so tests run offline: the pages' origin is the LEARN_BASE_URL setting when set."""

import logging
import os
import re

import azure.durable_functions as df
import azure.functions as func
from aiohttp import ClientSession

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)  # noqa: N816 (the sample's name)

PAGES = (
    "/azure/azure-functions/durable/durable-functions-overview",
    "/azure/azure-functions/durable/durable-task-scheduler/durable-task-scheduler",
    "/azure/azure-functions/functions-scenarios",
    "/azure/azure-functions/functions-create-ai-enabled-apps",
)
TITLE = re.compile(r"<title[^>]*>([^<]+?)\s*\|\s*Microsoft Learn</title>", re.IGNORECASE)


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    instance_id = await client.start_new(req.route_params.get("functionName"))
    logging.info("started %s", instance_id)
    return client.create_check_status_response(req, instance_id)


@myApp.orchestration_trigger(context_name="context")
def fetch_orchestration(context: df.DurableOrchestrationContext):
    origin = os.environ.get("LEARN_BASE_URL", "https://learn.microsoft.com")
    titles = yield context.task_all(
        [context.call_activity("fetch_title", origin + page) for page in PAGES]
    )
    return "; ".join(titles)


@myApp.activity_trigger(input_name="url")
async def fetch_title(url: str):
    """The page's title without the " | Microsoft Learn" suffix; any failure is reported as text."""
    try:
        async with ClientSession() as session, session.get(url) as response:
            response.raise_for_status()
            found = TITLE.search(await response.text())
            return found.group(1).strip() if found else "No title found"
    except Exception as error:
        return f"Error fetching from {url}: {error}"
