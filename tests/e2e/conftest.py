"""End-to-end fixtures: the app in a devhost process on Azurite, reached over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.process import DevHostProcess
from tests.e2e.api import OrderApi

ROOT = Path(__file__).resolve().parents[2]
# Durable time runs this much faster than real time: backoffs and approval windows pass quickly.
TIME_SCALE = 60


def start_app(azurite: str, log_dir: Path, **settings: str) -> DevHostProcess:
    """A devhost process with its own task hub and its own service tables, its functions in
    worker processes as `scripts/run.sh` starts it."""
    run = uuid.uuid4().hex[:10]
    env = {
        "SAGA_STORAGE_CONNECTION": azurite,
        "SAGA_TABLE_PREFIX": f"e2e{run}",
        "APPROVAL_TIMEOUT_SECONDS": "600",
        "CHAOS_FAULT_RATE": "0",
        **settings,
    }
    return DevHostProcess(
        ROOT, azurite, f"E2E{run}", env=env, time_scale=TIME_SCALE,
        log_path=log_dir / f"devhost-{run}.log", extra_args=["--worker-processes", "4"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def app(azurite: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrderApi]:
    """The app, shared by a module's tests (each test uses its own SKUs and customers)."""
    with start_app(azurite, tmp_path_factory.mktemp("e2e")) as process:
        yield OrderApi(process.base_url)
