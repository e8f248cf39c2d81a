"""Fixtures of the offline infrastructure checks; checkov runs once per network variant (~10 s)."""

from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep import NETWORK_VARIANTS, render_network_variant, run_checkov


@pytest.fixture(scope="session")
def checkov_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """checkov's bicep report for each network variant, with passed, failed and skipped checks."""
    reports = {}
    for variant in NETWORK_VARIANTS:
        root: Path = tmp_path_factory.mktemp(f"infra-{variant}")
        reports[variant] = run_checkov(render_network_variant(variant, root))
    return reports


@pytest.fixture(params=NETWORK_VARIANTS)
def checkov_report(request: pytest.FixtureRequest, checkov_reports: dict[str, Any]) -> Any:
    """One variant's report; tests that take it run for both."""
    return checkov_reports[request.param]
