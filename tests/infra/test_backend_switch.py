"""One parameter, durableBackend, picks the durable backend: what is deployed, the roles granted and
the storage provider the Functions host runs with can never disagree, in a new environment or after
switching either way.

How the host finds its provider: host.json keeps the Durable extension's default (no
``storageProvider``: Azure Storage), and with the scheduler the app gets
``AzureFunctionsJobHost__extensions__durableTask__storageProvider__type`` (and
``...__connectionStringName``), which the host reads in place of host.json's
``extensions.durableTask.storageProvider.type``: "When
the runtime finds an application setting in the format AzureFunctionsJobHost__path__to__setting,
it overrides the equivalent host.json setting located at path.to.setting in the JSON" (Microsoft,
"host.json reference for Azure Functions 2.x and later", section "Override host.json values", and
the AzureFunctionsJobHost__* entry of "App settings reference for Azure Functions"). The host
reads configuration keys case-insensitively, as .NET configuration does.

A deployment replaces the site's whole app settings list but leaves earlier role assignments in
place (ARM's incremental mode adds and updates, it does not delete), so after a switch the app has
the new settings and the roles of both deployments.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from devhost.config import HostConfig
from tests.infra.bicep import REPO, body, condition, model, resources_of_type
from tests.infra.expressions import evaluate, template_scope

BACKENDS = ("AzureStorage", "DurableTaskScheduler")
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
ACCOUNT = "Microsoft.Storage/storageAccounts"
TASK_HUB = "Microsoft.DurableTask/schedulers/taskHubs"
OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
CLIENT_ID = "client-id-of-the-identity"
ENDPOINT = "https://dts-example.westeurope.durabletask.io"


@dataclass(frozen=True)
class Deployment:
    """What one `azd provision` leaves behind, as far as the durable backend is concerned."""

    settings: dict[str, Any]
    roles: frozenset[tuple[str, str]]  # (role name, type of the resource it is scoped to)
    task_hubs: frozenset[str]


def _role_name(relative: str, assignment: dict[str, Any]) -> str:
    role = body(assignment)["properties"]["roleDefinitionId"]["function"]["parameters"]
    guid = model(relative)["variables"][role["resource_name_1"]]["value"]
    return {
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
        "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
        "0ad04412-c4d5-4796-b79c-f76d14c8d402": "Durable Task Data Contributor",
    }[guid]


def _identity_roles(relative: str, scope: Any) -> set[tuple[str, str]]:
    """The app identity's grants in one file whose condition holds for these parameters."""
    granted = set()
    for assignment in resources_of_type(relative, ROLE_ASSIGNMENT).values():
        config = body(assignment)
        if config["properties"]["principalId"] != "identityPrincipalId":
            continue
        test = condition(assignment)
        if test is None or evaluate(test, scope):
            scope_type = model(relative)["resources"][config["scope"]]["type"]
            granted.add((_role_name(relative, assignment), scope_type))
    return granted


def deploy(backend: str) -> Deployment:
    """Evaluates main.bicep and its modules for one backend."""
    main = template_scope("main.bicep", durableBackend=backend)
    use_scheduler = main["useScheduler"]
    roles = _identity_roles(
        "app/rbac.bicep", template_scope("app/rbac.bicep", useScheduler=use_scheduler)
    )
    task_hubs: set[str] = set()
    if evaluate(condition(model("main.bicep")["modules"]["scheduler"]), main):
        scheduler = template_scope("app/scheduler.bicep", taskHubName=main["taskHubName"])
        roles |= _identity_roles("app/scheduler.bicep", scheduler)
        (hub,) = resources_of_type("app/scheduler.bicep", TASK_HUB).values()
        task_hubs.add(evaluate(body(hub)["name"], scheduler))
    function = template_scope(
        "app/function.bicep",
        useScheduler=use_scheduler,
        schedulerEndpoint=ENDPOINT if use_scheduler else "",
        identityClientId=CLIENT_ID,
        storageAccountName="stexample",
    )
    settings = {setting["name"]: setting["value"] for setting in function["appSettings"]}
    return Deployment(settings, frozenset(roles), frozenset(task_hubs))


def host_configuration(settings: dict[str, Any]) -> dict[str, Any]:
    """host.json as the host sees it: AzureFunctionsJobHost__a__b settings replace a.b."""
    configuration: dict[str, Any] = json.loads((REPO / "host.json").read_text())
    for name, value in settings.items():
        if not name.lower().startswith(OVERRIDE_PREFIX.lower()):
            continue
        *parents, leaf = name[len(OVERRIDE_PREFIX) :].split("__")
        node = configuration
        for key in parents:
            node = node.setdefault(_existing_key(node, key), {})
        node[_existing_key(node, leaf)] = value
    return configuration


def _existing_key(node: dict[str, Any], key: str) -> str:
    return next((k for k in node if k.lower() == key.lower()), key)


def _lookup(node: dict[str, Any], *path: str) -> Any:
    for key in path:
        node = node.get(_existing_key(node, key), {})
    return node


def assert_the_host_can_run_orchestrations(
    settings: dict[str, Any], roles: frozenset[tuple[str, str]], task_hubs: frozenset[str]
) -> None:
    """The provider the host will use is deployed, reachable with the identity, and permitted."""
    durable = _lookup(host_configuration(settings), "extensions", "durableTask")
    provider = _lookup(durable, "storageProvider")
    kind = str(provider.get(_existing_key(provider, "type"), "AzureStorage"))  # extension default
    if kind.lower() == "azuremanaged":
        connection = settings[provider[_existing_key(provider, "connectionStringName")]]
        assert (
            connection == f"Endpoint={ENDPOINT};Authentication=ManagedIdentity;ClientID={CLIENT_ID}"
        )
        assert durable["hubName"] in task_hubs
        assert ("Durable Task Data Contributor", TASK_HUB) in roles
    else:
        assert kind.lower() == "azurestorage", kind
        assert settings["AzureWebJobsStorage__accountName"] == "stexample"
        assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
        assert {
            ("Storage Blob Data Owner", ACCOUNT),  # leases
            ("Storage Queue Data Contributor", ACCOUNT),  # control and work-item queues
            ("Storage Table Data Contributor", ACCOUNT),  # instances and history
        } <= roles


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_new_environment_runs_with_either_backend(backend: str) -> None:
    """First provision with each backend: provider, connection, task hub and roles agree."""
    deployment = deploy(backend)
    assert_the_host_can_run_orchestrations(
        deployment.settings, deployment.roles, deployment.task_hubs
    )


@pytest.mark.parametrize(("before", "after"), [BACKENDS, BACKENDS[::-1]])
def test_switching_the_backend_either_way_leaves_a_working_app(before: str, after: str) -> None:
    """`azd env set DURABLE_BACKEND <after>` then `azd provision`: the app settings are the new
    deployment's, the roles and task hubs those of both; no host.json edit, no ordering."""
    old, new = deploy(before), deploy(after)
    assert_the_host_can_run_orchestrations(
        new.settings, old.roles | new.roles, old.task_hubs | new.task_hubs
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_provider_follows_the_parameter(backend: str) -> None:
    """The host's provider is azureManaged exactly when the scheduler is deployed; and the queue
    role is granted exactly when the queues are used."""
    deployment = deploy(backend)
    provider = _lookup(
        host_configuration(deployment.settings), "extensions", "durableTask", "storageProvider"
    )
    uses_scheduler = backend == "DurableTaskScheduler"
    assert (provider.get("type") == "azureManaged") is uses_scheduler
    assert bool(deployment.task_hubs) is uses_scheduler
    assert (("Storage Queue Data Contributor", ACCOUNT) in deployment.roles) is not uses_scheduler


def test_host_json_leaves_the_provider_to_the_app_settings() -> None:
    """host.json names no provider (so nothing in it has to change with the backend), and the
    settings override exactly the documented path."""
    durable = json.loads((REPO / "host.json").read_text())["extensions"]["durableTask"]
    assert "storageProvider" not in durable
    overrides = [
        name for name in deploy("DurableTaskScheduler").settings if name.startswith(OVERRIDE_PREFIX)
    ]
    assert sorted(overrides) == [
        "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName",
        "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type",
    ]
    assert not [
        name for name in deploy("AzureStorage").settings if name.startswith(OVERRIDE_PREFIX)
    ]


def test_the_extension_bundle_can_load_the_scheduler_provider() -> None:
    """azureManaged ships in Microsoft.Azure.Functions.ExtensionBundle 4.32.0 and later (Durable
    Task Scheduler quickstart); the host takes the highest bundle the range allows, and host.json's
    range reaches past 4.32.0 without excluding it."""
    bundle = json.loads((REPO / "host.json").read_text())["extensionBundle"]
    assert bundle["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    match = re.fullmatch(r"\[(\d+)\.(\*|\d+)(?:\.\d+)?, (\d+)\.0\.0\)", bundle["version"])
    assert match, bundle["version"]
    low_major, low_minor, high_major = match.groups()
    assert int(low_major) == 4 and (low_minor == "*" or int(low_minor) <= 32)
    assert int(high_major) >= 5


def test_devhost_keeps_the_same_task_hub_locally() -> None:
    """devhost reads host.json too (and ignores storageProvider, having its own store), so the
    local hub name is the one Azure uses for either backend."""
    assert HostConfig.load(REPO).hub_name == template_scope("main.bicep")["taskHubName"]
