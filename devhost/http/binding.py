"""The durable client binding JSON that the Durable extension hands to an HTTP function."""

from __future__ import annotations

import json
from urllib.parse import quote

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask/"
# The extension's placeholder; the SDK replaces managementUrls["id"] in every URL.
INSTANCE_ID_PLACEHOLDER = "INSTANCEID"
# The extension's default connection name for the Azure Storage provider.
DEFAULT_CONNECTION_NAME = "Storage"


def under(lowered_path: str, base: str) -> bool:
    """Whether a lower-cased path is ``base`` (one of the bases above, no trailing slash) or
    below it."""
    return lowered_path == base or lowered_path.startswith(base + "/")


def management_urls(base_url: str, hub_name: str, instance_id: str) -> dict[str, str]:
    """The HttpManagementPayload of one instance, as the extension builds it."""
    webhook = base_url.rstrip("/") + WEBHOOK_PATH
    instance = f"{webhook}/instances/{instance_id}"
    query = f"taskHub={quote(hub_name, safe='')}&connection={DEFAULT_CONNECTION_NAME}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{instance}?{query}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{instance}?{query}",
        "restartPostUri": f"{instance}/restart?{query}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
    }


def client_binding(base_url: str, hub_name: str, rpc_base_url: str) -> dict[str, object]:
    """The binding object: ``base_url`` is where callers reach the app (``http://host:port``),
    ``rpc_base_url`` where the SDK client calls the durable HTTP API (ends with ``/``)."""
    webhook = base_url.rstrip("/") + WEBHOOK_PATH
    # Locally there is no system key, so no `code=` query parameter: the suffix is empty.
    create = f"{webhook}/orchestrators/{{functionName}}[/{{instanceId}}]"
    return {
        "taskHubName": hub_name,
        "creationUrls": {
            "createNewInstancePostUri": f"{create}?",
            "createAndWaitOnNewInstancePostUri": (
                f"{create}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&"
            ),
        },
        "managementUrls": management_urls(base_url, hub_name, INSTANCE_ID_PLACEHOLDER),
        "baseUrl": webhook,
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": rpc_base_url,
    }


def client_binding_json(base_url: str, hub_name: str, rpc_base_url: str) -> str:
    """The string the host passes as the ``durableClient`` argument."""
    return json.dumps(client_binding(base_url, hub_name, rpc_base_url))
