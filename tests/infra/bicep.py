"""Offline readers for infra/: tree-sitter for syntax, pycep for structure, checkov for policy.

No Bicep compiler can run here, so these helpers give the tests what the compiler would:
the syntax tree, the declared parameters/resources/outputs, and checkov's verdict.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

# Set by CI (infra.yml): a missing tool then fails the run instead of skipping it.
REQUIRED = os.environ.get("INFRA_TOOLS_REQUIRED") == "1"
INSTALL_HINT = (
    ".venv/bin/pip install -r requirements-infra.txt; checkov goes in its own venv: "
    "python3 -m venv .venv-infra && .venv-infra/bin/pip install -r requirements-checkov.txt"
)


def _missing(what: str) -> None:
    message = f"{what} is not installed ({INSTALL_HINT})"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


def import_or_skip(module: str) -> Any:
    """Import an optional infra-check dependency, skipping (or failing in CI) without it."""
    try:
        return __import__(module)
    except ImportError:
        _missing(module)


@functools.cache
def _ts_parser() -> Any:
    tree_sitter = import_or_skip("tree_sitter")
    tree_sitter_bicep = import_or_skip("tree_sitter_bicep")
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def syntax_tree(path: Path) -> Any:
    """The tree-sitter tree of one .bicep file."""
    return _ts_parser().parse(path.read_bytes())


def walk(node: Any) -> Any:
    """Every node below (and including) `node`, depth first."""
    yield node
    for child in node.children:
        yield from walk(child)


def syntax_problems(path: Path) -> list[str]:
    """ERROR and MISSING nodes, as 'line:column type' strings; empty when the file parses."""
    return [
        f"{node.start_point[0] + 1}:{node.start_point[1] + 1} {node.type}"
        for node in walk(syntax_tree(path).root_node)
        if node.type == "ERROR" or node.is_missing
    ]


def identifier_uses(path: Path, name: str) -> int:
    """How often `name` is referenced as a symbol: declarations and object keys do not count."""
    uses = 0
    for node in walk(syntax_tree(path).root_node):
        if node.type != "identifier" or node.text.decode() != name:
            continue
        parent = node.parent
        is_declared_name = (
            parent is not None
            and parent.type.endswith("_declaration")
            and (parent.child_by_field_name("name") == node or parent.named_children[0] == node)
        )
        is_object_key = (
            parent is not None
            and parent.type == "object_property"
            and (parent.named_children[0] == node)
        )
        if not (is_declared_name or is_object_key):
            uses += 1
    return uses


@functools.cache
def model(relative: str) -> dict[str, Any]:
    """pycep's reading of infra/<relative>: globals, parameters, variables, resources, modules,
    outputs. Conditional and looped resources keep pycep's shape ({'condition', 'config'})."""
    pycep = import_or_skip("pycep")
    result: dict[str, Any] = pycep.BicepParser().parse(file_path=INFRA / relative)
    return result


def body(declaration: dict[str, Any]) -> dict[str, Any]:
    """The property object of a resource or module, with any `if (...)`/`for` wrapper removed."""
    config: dict[str, Any] = declaration["config"]
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def condition(declaration: dict[str, Any]) -> Any:
    """The `if (...)` condition of a resource or module, or None when it is unconditional."""
    return declaration["config"].get("condition")


def resources_of_type(relative: str, resource_type: str) -> dict[str, dict[str, Any]]:
    """Symbolic name -> declaration of every resource of `resource_type` in one file."""
    return {
        name: declaration
        for name, declaration in model(relative)["resources"].items()
        if declaration["type"] == resource_type
    }


def equals(left: Any, right: Any) -> dict[str, Any]:
    """pycep's shape of the expression `left == right`."""
    return {"operator": {"type": "equals", "operands": {"operand_1": left, "operand_2": right}}}


def conditional(test: Any, if_true: Any, if_false: Any) -> dict[str, Any]:
    """pycep's shape of `test ? if_true : if_false`."""
    return {
        "operator": {
            "type": "conditional",
            "operands": {"condition": test, "true_value": if_true, "false_value": if_false},
        }
    }


def checkov_executable() -> str:
    """checkov from $CHECKOV, the .venv-infra venv, or PATH (in that order)."""
    candidates = [
        os.environ.get("CHECKOV", ""),
        str(REPO / ".venv-infra" / "bin" / "checkov"),
        str(Path(sys.executable).with_name("checkov")),
        shutil.which("checkov") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    _missing("checkov")
    raise AssertionError("unreachable")


# The two network variants checkov scans. checkov does not evaluate parameters, so each variant is
# a copy of infra/ with `vnetEnabled ? <a> : <b>` resolved; the VNet copy also drops the skips
# that, by their own reason, hold for the public variant only, so those checks must pass there.
NETWORK_VARIANTS = ("public", "vnet")
_VNET_CHOICE = re.compile(r"\bvnetEnabled \? ('[^'\n]*'|true|false) : ('[^'\n]*'|true|false)")
PUBLIC_ONLY_SKIP = "Public network variant only"


def render_network_variant(variant: str, into: Path) -> Path:
    """A copy of infra/ (and the files its Bicep loads) for one variant; returns its infra/."""
    if variant not in NETWORK_VARIANTS:
        raise ValueError(variant)
    for loaded in ("host.json", "services/tables.json"):
        (into / loaded).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / loaded, into / loaded)
    for source in INFRA.rglob("*"):
        if source.is_dir():
            continue
        target = into / "infra" / source.relative_to(INFRA)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        if source.suffix == ".bicep":
            text = _VNET_CHOICE.sub(lambda m: m.group(1 if variant == "vnet" else 2), text)
            if "vnetEnabled ?" in text:
                raise AssertionError(
                    f"{source.name}: a vnetEnabled choice the variants cannot resolve"
                )
            if variant == "vnet":
                text = "".join(
                    line
                    for line in text.splitlines(keepends=True)
                    if not ("checkov:skip=" in line and PUBLIC_ONLY_SKIP in line)
                )
        target.write_text(text, encoding="utf-8")
    return into / "infra"


def run_checkov(directory: Path = INFRA) -> dict[str, Any]:
    """One offline checkov run over a directory of Bicep (infra/ by default), bicep only; the
    report with passed checks kept."""
    completed = subprocess.run(
        [
            checkov_executable(),
            "--directory",
            str(directory),
            "--framework",
            "bicep",
            "--skip-download",  # otherwise it first calls an outside API
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    # Exit code 1 means "some check failed"; the tests report which, from the JSON.
    if completed.returncode not in (0, 1) or not completed.stdout.strip():
        raise AssertionError(f"checkov did not run: {completed.returncode}\n{completed.stderr}")
    report = json.loads(completed.stdout)
    reports = report if isinstance(report, list) else [report]
    (bicep,) = [entry for entry in reports if entry.get("check_type") == "bicep"]
    result: dict[str, Any] = bicep
    return result


def module_output(module: str, output: str) -> dict[str, Any]:
    """pycep's tree of the expression ``module.outputs.output`` (a module's output read in
    main.bicep)."""
    outputs = {
        "type": "property_accessor",
        "operands": {"operand_1": "outputs", "operand_2": output},
    }
    return {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": module, "operand_2": {"operator": outputs}},
        }
    }
