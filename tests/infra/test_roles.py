"""Role assignments: the least privilege that works, each scoped to the one resource it needs."""

import re
from typing import Any

import pytest

from tests.infra.bicep import INFRA, body, condition, equals, model, resources_of_type

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
# GUID -> role name, as listed in Azure's built-in roles.
ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "0ad04412-c4d5-4796-b79c-f76d14c8d402": "Durable Task Data Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
}
ROLE_FILES = ["app/rbac.bicep", "app/scheduler.bicep"]


def _assignments(relative: str) -> dict[str, dict[str, Any]]:
    return resources_of_type(relative, ROLE_ASSIGNMENT)


def _role_guid(relative: str, assignment: dict[str, Any]) -> str:
    """The GUID behind roleDefinitionId: subscriptionResourceId(..., <variable>)."""
    role_id = body(assignment)["properties"]["roleDefinitionId"]["function"]
    assert role_id["type"] == "subscription_resource_id"
    variable = role_id["parameters"]["resource_name_1"]
    guid: str = model(relative)["variables"][variable]["value"]
    return guid


def _scope_type(relative: str, assignment: dict[str, Any]) -> str:
    scope = body(assignment)["scope"]
    resource_type: str = model(relative)["resources"][scope]["type"]
    return resource_type


@pytest.mark.parametrize("relative", ROLE_FILES)
def test_every_role_guid_is_commented_with_its_name(relative: str) -> None:
    """A reader sees which role a GUID is without looking it up."""
    for line in (INFRA / relative).read_text().splitlines():
        for guid in re.findall(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", line):
            assert line.rstrip().endswith(f"// {ROLES[guid]}"), line


@pytest.mark.parametrize("relative", ROLE_FILES)
def test_assignments_are_named_by_scope_principal_and_role(relative: str) -> None:
    """guid(scope.id, principal, role): stable across deployments, unique per grant."""
    for name, assignment in _assignments(relative).items():
        config = body(assignment)
        parameters = config["name"]["function"]["parameters"]
        assert config["name"]["function"]["type"] == "guid", name
        scope_id = parameters["base_string"]["operator"]["operands"]
        assert scope_id == {"operand_1": config["scope"], "operand_2": "id"}, name
        assert parameters["extra_string_1"] == config["properties"]["principalId"], name
        role = config["properties"]["roleDefinitionId"]["function"]["parameters"]
        assert parameters["extra_string_2"] == role["resource_name_1"], name


def test_the_app_identity_gets_exactly_the_storage_and_monitoring_roles() -> None:
    """Blob owner, queue and table contributor on the storage account; metrics publisher on the
    Application Insights component; nothing on the resource group or subscription."""
    granted = {}
    for assignment in _assignments("app/rbac.bicep").values():
        if body(assignment)["properties"]["principalId"] == "identityPrincipalId":
            assert body(assignment)["properties"]["principalType"] == "ServicePrincipal"
            granted[ROLES[_role_guid("app/rbac.bicep", assignment)]] = _scope_type(
                "app/rbac.bicep", assignment
            )
    assert granted == {
        "Storage Blob Data Owner": "Microsoft.Storage/storageAccounts",
        "Storage Queue Data Contributor": "Microsoft.Storage/storageAccounts",
        "Storage Table Data Contributor": "Microsoft.Storage/storageAccounts",
        "Monitoring Metrics Publisher": "Microsoft.Insights/components",
    }


def test_the_queue_role_is_granted_only_for_the_azure_storage_backend() -> None:
    """With the Durable Task Scheduler nothing in the app uses storage queues."""
    (queue,) = [
        assignment
        for assignment in _assignments("app/rbac.bicep").values()
        if ROLES[_role_guid("app/rbac.bicep", assignment)] == "Storage Queue Data Contributor"
    ]
    assert condition(queue) == equals("durableBackend", "AzureStorage")


@pytest.mark.parametrize("relative", ROLE_FILES)
def test_the_deploying_user_is_granted_roles_only_when_given(relative: str) -> None:
    """Each user grant is conditional on principalId being set, and typed as a User."""
    empty = {"function": {"type": "empty", "parameters": {"item_to_test": "userPrincipalId"}}}
    not_empty = {"operator": {"type": "not", "operands": {"bool_value": empty}}}
    users = [
        assignment
        for assignment in _assignments(relative).values()
        if body(assignment)["properties"]["principalId"] == "userPrincipalId"
    ]
    assert users
    for assignment in users:
        assert condition(assignment) == not_empty
        assert body(assignment)["properties"]["principalType"] == "User"


def test_the_scheduler_role_is_scoped_to_the_scheduler() -> None:
    """Durable Task Data Contributor on the scheduler itself, for the app's identity."""
    (app_grant,) = [
        assignment
        for assignment in _assignments("app/scheduler.bicep").values()
        if body(assignment)["properties"]["principalId"] == "identityPrincipalId"
    ]
    assert ROLES[_role_guid("app/scheduler.bicep", app_grant)] == "Durable Task Data Contributor"
    assert _scope_type("app/scheduler.bicep", app_grant) == "Microsoft.DurableTask/schedulers"
    assert condition(app_grant) is None
