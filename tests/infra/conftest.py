"""Fixtures of the offline infrastructure checks; checkov runs once per session (~15 s)."""

from typing import Any

import pytest

from tests.infra.bicep import run_checkov


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    """checkov's bicep report over infra/, with passed, failed and skipped checks."""
    return run_checkov()
