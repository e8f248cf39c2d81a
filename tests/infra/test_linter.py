"""The Bicep linter's rules that matter are errors, so the workflow's `az bicep build` fails on
them; and the template gives the compiler no possibly-null module output to warn about."""

import json
import re
from pathlib import Path

import pytest

from tests.infra.bicep import BICEP_FILES, INFRA, REPO, condition, model

# Rules whose breach is a real defect here: secrets, hard-coded clouds or locations, dead code,
# needless dependencies, unstable names, and unsafe access to values that may be absent.
ERROR_RULES = {
    "adminusername-should-not-be-literal",
    "explicit-values-for-loc-params",
    "no-deployments-resources",
    "no-hardcoded-env-urls",
    "no-hardcoded-location",
    "no-loc-expr-outside-params",
    "no-unnecessary-dependson",
    "no-unused-existing-resources",
    "no-unused-params",
    "no-unused-vars",
    "outputs-should-not-contain-secrets",
    "protect-commandtoexecute-secrets",
    "secure-parameter-default",
    "secure-params-in-nested-deploy",
    "secure-secrets-in-params",
    "use-parent-property",
    "use-resource-symbol-reference",
    "use-safe-access",
    "use-secure-value-for-secure-inputs",
    "use-stable-resource-identifiers",
}


def test_bicepconfig_makes_the_rules_that_matter_errors() -> None:
    """infra/bicepconfig.json sits next to main.bicep, so it governs every file the build reads."""
    config = json.loads((INFRA / "bicepconfig.json").read_text())
    core = config["analyzers"]["core"]
    assert core["enabled"] is True
    levels = {rule: setting["level"] for rule, setting in core["rules"].items()}
    assert levels == dict.fromkeys(ERROR_RULES, "error")


def test_the_workflow_fails_on_errors_and_warnings() -> None:
    """`az bicep build` exits non-zero on an error-level rule; the step also fails on any
    warning it prints, and the workflow runs when the files the Bicep loads change."""
    workflow = (REPO / ".github" / "workflows" / "infra.yml").read_text()
    assert "az bicep build --file infra/main.bicep" in workflow
    assert "grep -E ': (Warning|Error) ' build.log" in workflow
    for loaded in ("host.json", "services/tables.json", "infra/**"):
        assert workflow.count(loaded) >= 2, loaded  # push and pull_request


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.name)
def test_conditional_modules_outputs_are_read_safely(path: Path) -> None:
    """An output of a module that may not be deployed is read as `module.?outputs.x` (with a
    fallback), never `module.outputs.x`, which the compiler flags as possibly null (BCP318)."""
    relative = path.relative_to(INFRA).as_posix()
    text = path.read_text()
    conditional = [
        name
        for name, module in model(relative).get("modules", {}).items()
        if condition(module) is not None
    ]
    for name in conditional:
        assert not re.search(rf"\b{name}\.outputs\b", text), name
        assert not re.search(rf"\b{name}!\.", text), name
