"""The NeedsAttention alert and the worker telemetry it reads: identity-based, no keys, and
matched to the fields and status the saga engine really logs."""

from typing import Any

from shared.saga.logs import LOGGER_NAME
from shared.saga.status import SagaStatus
from tests.infra.bicep import INFRA, REPO, body, condition, model, resources_of_type

ALERTS = "app/alerts.bicep"
RULE = "Microsoft.Insights/scheduledQueryRules"


def _rule() -> dict[str, Any]:
    (rule,) = resources_of_type(ALERTS, RULE).values()
    return body(rule)


def _accessor(*path: str) -> Any:
    """pycep's shape of `a.b.c`."""
    if len(path) == 1:
        return path[0]
    operands = {"operand_1": path[0], "operand_2": _accessor(*path[1:])}
    return {"operator": {"type": "property_accessor", "operands": operands}}


class TestTheRule:
    def test_it_queries_application_insights_as_its_own_identity(self) -> None:
        """A system-assigned identity (no key, no connection string) and the one component
        as its scope."""
        rule = _rule()
        assert rule["kind"] == "LogAlert"
        assert rule["identity"] == {"type": "SystemAssigned"}
        assert rule["properties"]["scopes"] == [_accessor("applicationInsights", "id")]
        assert rule["properties"]["enabled"] is True

    def test_it_looks_for_the_record_the_engine_writes_entering_needs_attention(self) -> None:
        """The query filters on customDimensions.outcome == the status the engine publishes,
        and keeps sagaId, step and code (the fields shared.saga.logs names)."""
        query = model(ALERTS)["variables"]["needsAttentionQuery"]["value"]
        status = SagaStatus.NEEDS_ATTENTION.value
        assert f'tostring(customDimensions.outcome) == "{status}"' in query
        for field in ("sagaId", "step", "code"):
            assert f"customDimensions.{field}" in query
        assert query.lstrip().startswith("traces")

    def test_each_saga_raises_one_alert_while_its_record_is_in_the_window(self) -> None:
        """Any row fires; split by sagaId; the window overlaps the next run so late ingestion
        is still seen, and autoMitigate keeps the overlap from firing twice."""
        properties = _rule()["properties"]
        (criterion,) = properties["criteria"]["allOf"]
        assert criterion["query"] == "needsAttentionQuery"
        assert (criterion["timeAggregation"], criterion["operator"], criterion["threshold"]) == (
            "Count",
            "GreaterThan",
            0,
        )
        assert criterion["dimensions"] == [
            {"name": "sagaId", "operator": "Include", "values": ["*"]}
        ]
        assert properties["autoMitigate"] is True
        minutes = {
            key: int(properties[key].removeprefix("PT").removesuffix("M"))
            for key in ("evaluationFrequency", "windowSize")
        }
        assert minutes["windowSize"] > minutes["evaluationFrequency"]


class TestNotification:
    def test_the_email_action_group_exists_only_when_an_address_is_given(self) -> None:
        """alertEmail defaults to empty, so `azd up` needs nothing more; with an address the
        rule notifies through the action group."""
        assert model("main.bicep")["parameters"]["alertEmail"]["default"] == ""
        (group,) = resources_of_type(ALERTS, "Microsoft.Insights/actionGroups").values()
        empty = {"function": {"type": "empty", "parameters": {"item_to_test": "alertEmail"}}}
        assert condition(group) == {"operator": {"type": "not", "operands": {"bool_value": empty}}}
        assert body(group)["properties"]["emailReceivers"][0]["emailAddress"] == "alertEmail"
        actions = _rule()["properties"]["actions"]["actionGroups"]["operator"]
        assert actions["type"] == "conditional"
        assert actions["operands"]["condition"] == empty
        assert actions["operands"]["true_value"] == []
        assert actions["operands"]["false_value"] == [_accessor("operators", "id")]


class TestTheRulesRole:
    def test_its_identity_may_read_the_component_and_nothing_else(self) -> None:
        """main.bicep hands the rule's principal to rbac.bicep, which grants Reader on the
        Application Insights component only."""
        rbac = body(model("main.bicep")["modules"]["rbac"])["params"]
        assert rbac["alertPrincipalId"] == _accessor("alerts", "outputs", "principalId")
        outputs = model(ALERTS)["outputs"]
        assert outputs["principalId"]["value"] == _accessor(
            "needsAttention", "identity", "principalId"
        )
        grants = [
            body(assignment)
            for assignment in resources_of_type(
                "app/rbac.bicep", "Microsoft.Authorization/roleAssignments"
            ).values()
            if body(assignment)["properties"]["principalId"] == "alertPrincipalId"
        ]
        assert [grant["scope"] for grant in grants] == ["applicationInsights"]
        role = grants[0]["properties"]["roleDefinitionId"]["function"]["parameters"]
        assert model("app/rbac.bicep")["variables"][role["resource_name_1"]]["value"] == (
            "acdd72a7-3385-48ef-bd42-f606fba81ae7"  # Reader
        )


class TestWorkerTelemetry:
    def _settings(self) -> dict[str, Any]:
        entries = model("app/function.bicep")["variables"]["baseSettings"]["value"]
        return {entry["name"]: entry["value"] for entry in entries}

    def test_the_worker_exports_the_saga_loggers_records_itself(self) -> None:
        """The host forwards a worker's log line as text only; the worker's own exporter sends
        the record's fields as custom dimensions, for the saga loggers only, logs only."""
        settings = self._settings()
        assert settings["PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"] == "true"
        assert settings["PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME"] == LOGGER_NAME
        assert settings["OTEL_TRACES_EXPORTER"] == settings["OTEL_METRICS_EXPORTER"] == "none"

    def test_the_exporter_is_deployed_with_the_app(self) -> None:
        """The worker imports azure-monitor-opentelemetry from the app's own packages."""
        requirements = (REPO / "requirements.txt").read_text().splitlines()
        assert any(line.startswith("azure-monitor-opentelemetry>=") for line in requirements)

    def test_the_alert_module_is_documented(self) -> None:
        """docs/deploy.md lists every infra file; the alert's is among them."""
        assert (INFRA / ALERTS).is_file()
        assert f"`infra/{ALERTS}`" in (REPO / "docs" / "deploy.md").read_text()
