"""Every infra file is well-formed and the pieces fit: the stand-in for `az bicep build`."""

import json
import re
from pathlib import Path

import pytest

from tests.infra.bicep import BICEP_FILES, INFRA, REPO, import_or_skip, model, syntax_problems

MODULE_FILES = sorted(path.relative_to(INFRA).as_posix() for path in BICEP_FILES)
# Read from the text so collection needs no parser; the tests then read them with pycep.
MODULE_NAMES = re.findall(r"^module (\w+) ", (INFRA / "main.bicep").read_text(), re.MULTILINE)


def test_the_template_has_a_main_file_and_modules() -> None:
    """main.bicep composes the modules in infra/app/."""
    assert "main.bicep" in MODULE_FILES
    assert any(name.startswith("app/") for name in MODULE_FILES)


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.name)
def test_every_bicep_file_parses_without_error_nodes(path: Path) -> None:
    """tree-sitter-bicep finds no ERROR or MISSING node."""
    assert syntax_problems(path) == []


@pytest.mark.parametrize("relative", MODULE_FILES)
def test_pycep_reads_the_structure_of_every_file(relative: str) -> None:
    """pycep reads every file and every resource has a type and an API version."""
    parsed = model(relative)
    assert parsed.get("resources") or parsed.get("modules")
    for declaration in parsed.get("resources", {}).values():
        assert re.fullmatch(r"[A-Za-z]+\.[A-Za-z]+(/[A-Za-z]+)+", declaration["type"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", declaration["api_version"])


def test_modules_are_local_files_that_exist() -> None:
    """Every module main.bicep uses is a file in infra/app/ (no registry modules to trust)."""
    for name, module in model("main.bicep")["modules"].items():
        assert module["type"] == "local", name
        assert (INFRA / module["detail"]["path"]).is_file(), name


@pytest.mark.parametrize("module_name", MODULE_NAMES)
def test_modules_get_exactly_their_declared_parameters(module_name: str) -> None:
    """The compiler's parameter check: no unknown parameter, every required one given."""
    module = model("main.bicep")["modules"][module_name]
    declared = model(module["detail"]["path"])["parameters"]
    config = module["config"].get("config", module["config"])
    given = set(config["params"])
    assert given <= set(declared), f"unknown: {given - set(declared)}"
    required = {name for name, param in declared.items() if param["default"] is None}
    assert required <= given, f"missing: {required - given}"


def test_the_parameters_file_sets_only_declared_parameters() -> None:
    """main.parameters.json names parameters of main.bicep and azd's variables for the basics."""
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(values) <= set(model("main.bicep")["parameters"])
    assert values["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert values["location"]["value"] == "${AZURE_LOCATION}"
    assert values["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"


def test_abbreviations_cover_every_prefix_used() -> None:
    """Every `abbrs.<key>` in main.bicep exists in abbreviations.json."""
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    used = set(re.findall(r"abbrs\.(\w+)", (INFRA / "main.bicep").read_text()))
    assert used and used <= set(abbreviations)


def test_azure_yaml_deploys_the_function_app_from_the_bicep_template() -> None:
    """azd provisions infra/main.bicep and deploys the repo root as a Python function app."""
    yaml = import_or_skip("yaml")
    project = yaml.safe_load((REPO / "azure.yaml").read_text())
    assert project["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert project["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
