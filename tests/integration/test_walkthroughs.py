"""The README's "Adding a step" holds as written: docs/walkthroughs/adding-a-step.patch adds a
courier booking to the order saga, touching only the saga's contract, its activity module, its
definition (both styles) and tests, and the fast suite passes on the result unchanged: no test,
API module or OpenAPI document lists the order saga's steps."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATCH = ROOT / "docs" / "walkthroughs" / "adding-a-step.patch"
# What a step may touch: its contract, its service's activities, the definition, tests.
ALLOWED = ("contracts/", "activities/", "orchestrators/", "tests/")
THIS = "tests/integration/test_walkthroughs.py"

pytestmark = pytest.mark.slow


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files as they are now (tracked and new), in a folder of their own."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to list the repository's files")
    target = tmp_path_factory.mktemp("walkthrough")
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_the_patch_touches_only_what_the_readme_lists() -> None:
    touched = git("apply", "--numstat", str(PATCH), cwd=ROOT).splitlines()
    paths = [line.split("\t")[2] for line in touched]
    assert "contracts/order.py" in paths and "orchestrators/order_saga.py" in paths
    assert [path for path in paths if not path.startswith(ALLOWED)] == []


def test_the_suite_passes_with_the_step_added(checkout: Path) -> None:
    """The patched saga books the courier, and every order and API test still passes."""
    git("apply", str(PATCH), cwd=checkout)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SAGA_")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not azurite and not e2e",
            "--ignore",
            THIS,
            "--junitxml",
            "report.xml",
            "tests/unit",
            "tests/integration",
        ],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    cases = ElementTree.parse(checkout / "report.xml").getroot().iter("testcase")
    courier = [case for case in cases if case.get("classname", "").endswith("test_courier_step")]
    assert len(courier) == 4  # its own tests ran too (two, in each style)
