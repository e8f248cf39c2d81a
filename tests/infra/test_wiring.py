"""main.bicep's wiring: parameters used, azd outputs, Flex Consumption, the backend switch."""

import json
import re
from pathlib import Path

import pytest

from shared.settings import SAGA_STYLES, Settings
from tests.infra.bicep import (
    BICEP_FILES,
    INFRA,
    REPO,
    body,
    condition,
    conditional,
    equals,
    identifier_uses,
    model,
    resources_of_type,
)
from tests.infra.expressions import template_scope

FUNCTION = "app/function.bicep"


def _relative(path: Path) -> str:
    return path.relative_to(INFRA).as_posix()


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.name)
def test_every_declared_parameter_is_used(path: Path) -> None:
    """A parameter nobody reads is a setting that silently does nothing."""
    unused = [
        name for name in model(_relative(path))["parameters"] if identifier_uses(path, name) == 0
    ]
    assert unused == []


def test_main_declares_the_documented_parameters() -> None:
    """The knobs docs/deploy.md describes, with safe defaults."""
    params = model("main.bicep")["parameters"]
    assert {
        "environmentName",
        "location",
        "schedulerLocation",
        "principalId",
        "principalType",
        "tablePrefix",
        "vnetEnabled",
        "maximumInstanceCount",
        "alwaysReadyDurableInstances",
        "durableBackend",
        "approvalThresholdCents",
        "approvalTimeoutSeconds",
        "shippingCountries",
        "orderSagaStyle",
        "retentionDays",
        "retentionSchedule",
        "tags",
    } <= set(params)
    defaults = Settings()
    assert params["retentionDays"]["default"] == defaults.retention_days
    assert params["retentionSchedule"]["default"] == defaults.retention_schedule
    assert params["orderSagaStyle"]["default"] == "declarative"
    styles = [d for d in params["orderSagaStyle"]["decorators"] if d["type"] == "allowed"]
    assert styles[0]["argument"] == list(SAGA_STYLES)  # what the app accepts
    assert params["durableBackend"]["default"] == "AzureStorage"
    allowed = [d for d in params["durableBackend"]["decorators"] if d["type"] == "allowed"]
    assert allowed[0]["argument"] == ["AzureStorage", "DurableTaskScheduler"]
    assert params["principalId"]["default"] == ""


def test_outputs_are_upper_snake_case_for_azd() -> None:
    """azd stores outputs as environment variables, so their names are UPPER_SNAKE."""
    outputs = model("main.bicep")["outputs"]
    assert outputs
    for name in outputs:
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", name), name
    expected = {"AZURE_FUNCTION_APP_NAME", "AZURE_RESOURCE_GROUP", "SAGA_TABLE_ENDPOINT"}
    assert expected <= set(outputs)


def test_names_derive_from_the_resource_token() -> None:
    """resourceToken = toLower(uniqueString(subscription().id, environmentName, location))."""
    text = (INFRA / "main.bicep").read_text()
    assert (
        "var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))"
        in text
    )
    assert model("main.bicep")["globals"]["scope"]["value"] == "subscription"


class TestFlexConsumption:
    """The plan and the app use Flex Consumption with the app's scale parameters."""

    def test_the_plan_is_flex_consumption_on_linux(self) -> None:
        """SKU FC1 in tier FlexConsumption."""
        (plan,) = resources_of_type(FUNCTION, "Microsoft.Web/serverfarms").values()
        assert body(plan)["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
        assert body(plan)["properties"]["reserved"] is True

    def test_runtime_scale_and_deployment_storage(self) -> None:
        """Python 3.11; maximum instances and always-ready durable instances from parameters;
        the package container is reached with the user-assigned identity."""
        (app,) = resources_of_type(FUNCTION, "Microsoft.Web/sites").values()
        config = body(app)["properties"]["functionAppConfig"]
        assert config["runtime"] == {"name": "python", "version": "3.11"}
        scale = config["scaleAndConcurrency"]
        assert scale["maximumInstanceCount"] == "maximumInstanceCount"
        more_than_zero = {
            "operator": {
                "type": "greater_than",
                "operands": {"operand_1": "alwaysReadyDurableInstances", "operand_2": 0},
            }
        }
        assert scale["alwaysReady"] == conditional(more_than_zero, "durableAlwaysReady", [])
        assert model(FUNCTION)["variables"]["durableAlwaysReady"]["value"] == [
            {"name": "durable", "instanceCount": "alwaysReadyDurableInstances"}
        ]
        storage = config["deployment"]["storage"]
        assert storage["type"] == "blobContainer"
        assert storage["authentication"] == {
            "type": "UserAssignedIdentity",
            "userAssignedIdentityResourceId": "identityId",
        }

    def test_azd_finds_the_app_by_its_service_tag(self) -> None:
        """azure.yaml's service 'api' deploys to the app tagged azd-service-name: api."""
        assert model(FUNCTION)["variables"]["serviceTag"]["value"] == {"'azd-service-name'": "api"}

    def test_the_app_waits_for_its_roles(self) -> None:
        """The function module depends on the role assignments, so the host never starts
        without access to its storage."""
        assert body(model("main.bicep")["modules"]["functionApp"])["dependsOn"] == ["rbac"]


class TestDurableBackendSwitch:
    """durableBackend = DurableTaskScheduler adds the scheduler, its role and its settings; how the
    two backends behave, and switching between them, is in test_backend_switch.py."""

    def test_the_scheduler_module_is_deployed_only_for_that_backend(self) -> None:
        """The module's condition is useScheduler: durableBackend == 'DurableTaskScheduler'."""
        main = model("main.bicep")
        assert main["variables"]["useScheduler"]["value"] == equals(
            "durableBackend", "DurableTaskScheduler"
        )
        assert condition(main["modules"]["scheduler"]) == "useScheduler"

    def test_the_scheduler_serves_the_hub_of_host_json_to_the_app_identity(self) -> None:
        """Its task hub is host.json's hubName, read from host.json itself, and its role goes to
        the app's identity."""
        host = json.loads((REPO / "host.json").read_text())
        assert (
            template_scope("main.bicep")["taskHubName"]
            == (host["extensions"]["durableTask"]["hubName"])
        )
        params = body(model("main.bicep")["modules"]["scheduler"])["params"]
        assert params["taskHubName"] == "taskHubName"
        assert "identity" in str(params["identityPrincipalId"])
        scheduler = model("app/scheduler.bicep")["resources"]
        assert {r["type"] for r in scheduler.values()} == {
            "Microsoft.DurableTask/schedulers",
            "Microsoft.DurableTask/schedulers/taskHubs",
            "Microsoft.Authorization/roleAssignments",
        }

    def test_the_app_and_the_roles_follow_the_same_switch(self) -> None:
        """rbac.bicep and function.bicep get useScheduler itself, not a copy of the test."""
        modules = model("main.bicep")["modules"]
        assert body(modules["rbac"])["params"]["useScheduler"] == "useScheduler"
        assert body(modules["functionApp"])["params"]["useScheduler"] == "useScheduler"

    def test_the_app_gets_the_scheduler_endpoint_only_with_that_backend(self) -> None:
        """schedulerEndpoint is the module's output read with `.?` (empty when the module is not
        deployed), so the compiler has no possibly-null output to warn about."""
        text = (INFRA / "main.bicep").read_text()
        assert "schedulerEndpoint: scheduler.?outputs.endpoint ?? ''" in text
        assert (
            "output DURABLE_TASK_SCHEDULER_ENDPOINT string = scheduler.?outputs.endpoint ?? ''"
            in text
        )
