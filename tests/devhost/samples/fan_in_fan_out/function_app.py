"""Mirrors azure-functions-durable-python samples-v2/fan_in_fan_out (the "cloud backup" tutorial):
an HTTP starter whose JSON body is the orchestrator's input, an orchestrator that lists files
with one activity and copies each to Blob storage with another, in parallel, and sums the bytes.
Like the sample it imports azure-storage-blob at load and writes through AzureWebJobsStorage."""

import contextlib
import json
import logging
import os
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)  # noqa: N816 (the sample's name)

CONTAINER = "backups"


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def HttpStart(req: func.HttpRequest, client):  # noqa: N802 (the sample's name)
    root_directory = json.loads(req.get_body().decode())
    instance_id = await client.start_new(
        req.route_params["functionName"], client_input=root_directory
    )
    logging.info("started %s", instance_id)
    return client.create_check_status_response(req, instance_id)


@myApp.orchestration_trigger(context_name="context")
def E2_BackupSiteContent(context: df.DurableOrchestrationContext):  # noqa: N802
    root_directory = context.get_input()
    if not root_directory:
        raise Exception("A directory path is required as input")
    files = yield context.call_activity("E2_GetFileList", root_directory)
    sizes = yield context.task_all([context.call_activity("E2_CopyFileToBlob", f) for f in files])
    return sum(sizes)


@myApp.activity_trigger(input_name="rootDirectory")
def E2_GetFileList(rootDirectory):  # noqa: N802, N803
    """The function files (v1 layout) of every folder whose path contains "E2_"."""
    found = []
    for folder, _, names in os.walk(rootDirectory):
        if "E2_" not in folder:
            continue
        found += [os.path.join(folder, n) for n in names if n in ("__init__.py", "function.json")]
    return found


@myApp.activity_trigger(input_name="filePath")
def E2_CopyFileToBlob(filePath):  # noqa: N802, N803
    """Uploads one file as "<folder>_<file name>" and returns its size in bytes."""
    connection = os.environ["AzureWebJobsStorage"]  # noqa: SIM112 (the host's setting name)
    path = Path(filePath)
    with BlobServiceClient.from_connection_string(connection) as service:
        with contextlib.suppress(ResourceExistsError):
            service.create_container(CONTAINER)
        blob = service.get_blob_client(CONTAINER, f"{path.parent.name}_{path.name}")
        with path.open("rb") as data:
            blob.upload_blob(data)
    return path.stat().st_size
