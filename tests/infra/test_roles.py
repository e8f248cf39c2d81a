"""Role assignments: the least privilege that works, each scoped to the one resource it needs."""

import json
import re
from typing import Any

import pytest

from tests.infra.bicep import INFRA, body, condition, model, resources_of_type
from tests.infra.expressions import evaluate, template_scope

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
    assert condition(queue) == {
        "operator": {"type": "not", "operands": {"bool_value": "useScheduler"}}
    }


def _user_grants(relative: str) -> list[dict[str, Any]]:
    return [
        assignment
        for assignment in _assignments(relative).values()
        if body(assignment)["properties"]["principalId"] == "userPrincipalId"
    ]


@pytest.mark.parametrize("relative", ROLE_FILES)
def test_the_deploying_principal_is_granted_roles_only_when_given(relative: str) -> None:
    """Each grant to the deploying principal is conditional on principalId being set."""
    empty = {"function": {"type": "empty", "parameters": {"item_to_test": "userPrincipalId"}}}
    not_empty = {"operator": {"type": "not", "operands": {"bool_value": empty}}}
    assert _user_grants(relative)
    for assignment in _user_grants(relative):
        assert condition(assignment) == not_empty


class TestPrincipalType:
    """A person (User) or a pipeline (ServicePrincipal) deploys; each grant to it carries the type
    it really has, or Azure refuses the grant with UnmatchedPrincipalType."""

    def test_it_comes_from_the_azd_environment_and_defaults_to_user(self) -> None:
        """AZURE_PRINCIPAL_TYPE fills principalType; without it, User; nothing else is allowed."""
        values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
        assert values["principalType"]["value"] == "${AZURE_PRINCIPAL_TYPE=User}"
        param = model("main.bicep")["parameters"]["principalType"]
        assert param["default"] == "User"
        assert _allowed(param) == ["User", "ServicePrincipal"]

    @pytest.mark.parametrize("relative", ROLE_FILES)
    def test_every_module_granting_it_takes_it_from_main(self, relative: str) -> None:
        """rbac.bicep and scheduler.bicep get principalType and allow the same two values."""
        (module,) = [
            module
            for module in model("main.bicep")["modules"].values()
            if module["detail"]["path"] == relative
        ]
        assert body(module)["params"]["userPrincipalType"] == "principalType"
        param = model(relative)["parameters"]["userPrincipalType"]
        assert _allowed(param) == ["User", "ServicePrincipal"]

    @pytest.mark.parametrize("principal_type", ["User", "ServicePrincipal"])
    @pytest.mark.parametrize("relative", ROLE_FILES)
    def test_each_grant_has_the_type_of_its_principal(
        self, relative: str, principal_type: str
    ) -> None:
        """In both modes: the deploying principal's grants carry the mode's type; the app's
        identity and the alert rule's (managed identities) are always ServicePrincipal."""
        scope = template_scope(
            relative, userPrincipalId="object-id", userPrincipalType=principal_type
        )
        for name, assignment in _assignments(relative).items():
            properties = body(assignment)["properties"]
            granted = evaluate(properties["principalType"], scope)
            expected = (
                principal_type
                if properties["principalId"] == "userPrincipalId"
                else "ServicePrincipal"
            )
            assert granted == expected, name


def _allowed(param: dict[str, Any]) -> list[Any]:
    (allowed,) = [d["argument"] for d in param["decorators"] if d["type"] == "allowed"]
    return list(allowed)


def test_the_scheduler_role_is_scoped_to_the_task_hub() -> None:
    """Durable Task Data Contributor on the app's task hub, not on the scheduler (which would
    reach every task hub it ever holds), for the app's identity and the deploying principal."""
    grants = _assignments("app/scheduler.bicep").values()
    assert {body(grant)["properties"]["principalId"] for grant in grants} == {
        "identityPrincipalId",
        "userPrincipalId",
    }
    for grant in grants:
        assert ROLES[_role_guid("app/scheduler.bicep", grant)] == "Durable Task Data Contributor"
        assert (
            _scope_type("app/scheduler.bicep", grant) == "Microsoft.DurableTask/schedulers/taskHubs"
        )
