"""Parameters refuse what cannot work before anything is created: regions without Flex
Consumption, table prefixes the app would reject; and each is wired from azd and documented."""

import json
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shared.errors import SettingsError
from shared.settings import Settings
from tests.infra.bicep import INFRA, REPO, body, model, module_output
from tests.infra.expressions import evaluate, template_scope

DOCS = (REPO / "docs" / "deploy.md").read_text()
PARAMETERS_FILE = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]


def _decorator(param: dict[str, Any], kind: str) -> Any:
    (argument,) = [d["argument"] for d in param["decorators"] if d["type"] == kind]
    return argument


class TestRegions:
    def test_the_location_is_one_that_offers_flex_consumption(self) -> None:
        """@allowed lists the Flex Consumption regions (lower-case names, sorted, no duplicates,
        no early-access region an ordinary subscription cannot use)."""
        regions = _decorator(model("main.bicep")["parameters"]["location"], "allowed")
        assert regions == sorted(set(regions))
        assert all(re.fullmatch(r"[a-z]+[0-9]?", region) for region in regions)
        assert not [region for region in regions if region.endswith("euap")]
        assert {"westeurope", "eastus", "swedencentral"} <= set(regions)

    def test_azd_offers_only_those_regions(self) -> None:
        """azd's location metadata makes `azd up` ask with a region picker limited to @allowed."""
        param = model("main.bicep")["parameters"]["location"]
        assert _decorator(param, "metadata") == {"azd": {"type": "location"}}
        assert PARAMETERS_FILE["location"]["value"] == "${AZURE_LOCATION}"

    def test_the_docs_say_how_to_refresh_the_list(self) -> None:
        """Flex Consumption reaches new regions; the list names its source command."""
        text = (INFRA / "main.bicep").read_text()
        assert "az functionapp list-flexconsumption-locations" in text
        assert "az functionapp list-flexconsumption-locations" in DOCS

    @pytest.mark.parametrize(
        ("given_location", "expected"), [("", "westeurope"), ("northeurope", "northeurope")]
    )
    def test_the_scheduler_has_its_own_location_when_asked(
        self, given_location: str, expected: str
    ) -> None:
        """schedulerLocation (DURABLE_TASK_SCHEDULER_LOCATION) puts the scheduler in a region of
        its own; empty keeps it next to the app."""
        assert PARAMETERS_FILE["schedulerLocation"]["value"] == "${DURABLE_TASK_SCHEDULER_LOCATION}"
        assert model("main.bicep")["parameters"]["schedulerLocation"]["default"] == ""
        scope = template_scope(
            "main.bicep", location="westeurope", schedulerLocation=given_location
        )
        location = body(model("main.bicep")["modules"]["scheduler"])["params"]["location"]
        assert evaluate(location, scope) == expected


def _app_accepts(prefix: str) -> bool:
    try:
        Settings.from_env({"SAGA_TABLE_PREFIX": prefix})
    except SettingsError:
        return False
    return True


def _azure_accepts(prefix: str) -> bool:
    """@maxLength refuses a long value first; then the storage module's guard must be true."""
    max_length = _decorator(model("main.bicep")["parameters"]["tablePrefix"], "max_length")
    if len(prefix) > max_length:
        return False
    guard = body(model("main.bicep")["modules"]["storage"])["params"][
        "tablePrefixFollowsTheAppsRule"
    ]
    return bool(evaluate(guard, template_scope("main.bicep", tablePrefix=prefix)))


class TestTablePrefix:
    @given(st.text(alphabet="aZq09_-. éıſ\u212a", max_size=44))
    @example("")
    @example("a" * 40)
    @example("a" * 41)
    @example("1abc")
    @example("Saga2")
    @example("\u212a")  # KELVIN SIGN, a letter outside ASCII
    @example(" a")
    def test_azure_takes_exactly_the_prefixes_the_app_takes(self, prefix: str) -> None:
        """The Bicep rule, evaluated, agrees with shared/settings.py on every prefix, except that
        the app strips surrounding blanks (a blank value counts as unset) where Azure, which puts
        the raw value into table names, refuses them."""
        if prefix != prefix.strip():
            assert not _azure_accepts(prefix)
            return
        assert _azure_accepts(prefix) is _app_accepts(prefix)

    def test_the_storage_module_refuses_a_prefix_that_breaks_the_rule(self) -> None:
        """Its guard allows only true, so Azure stops the deployment before the storage account
        and the tables; the app's setting is the prefix the tables were created with."""
        storage = model("app/storage.bicep")["parameters"]
        assert _decorator(storage["tablePrefixFollowsTheAppsRule"], "allowed") == [True]
        assert _decorator(storage["tablePrefix"], "max_length") == 40
        output = model("app/storage.bicep")["outputs"]["tablePrefix"]["value"]
        assert (
            evaluate(
                output,
                template_scope(
                    "app/storage.bicep", tablePrefix="Saga", tablePrefixFollowsTheAppsRule=True
                ),
            )
            == "Saga"
        )
        params = body(model("main.bicep")["modules"]["functionApp"])["params"]
        assert str(params["tablePrefix"]) == str(module_output("storage", "tablePrefix"))


@pytest.mark.parametrize("name", sorted(model("main.bicep")["parameters"]))
def test_every_parameter_is_documented(name: str) -> None:
    """docs/deploy.md has a row for each parameter of main.bicep."""
    assert re.search(rf"^\| `{name}` \|", DOCS, re.MULTILINE), name


@pytest.mark.parametrize(
    "variable",
    ["AZURE_PRINCIPAL_TYPE", "DURABLE_BACKEND", "DURABLE_TASK_SCHEDULER_LOCATION", "VNET_ENABLED"],
)
def test_every_azd_variable_is_documented(variable: str) -> None:
    """Each azd environment variable main.parameters.json reads appears in docs/deploy.md."""
    assert variable in json.dumps(PARAMETERS_FILE)
    assert f"`{variable}`" in DOCS
