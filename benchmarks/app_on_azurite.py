"""The app in a devhost process on Azurite, with tables and a task hub of its own, for one run."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.azurite import AzuriteHandle, ensure_azurite  # noqa: E402
from devhost.process import DevHostProcess  # noqa: E402


@contextmanager
def app_on_azurite(
    name: str, workers: int, log_path: Path | None = None
) -> Iterator[tuple[DevHostProcess, AzuriteHandle]]:
    """Start Azurite unless one runs (and stop it after, if this started it), then the app in a
    devhost process with ``--worker-processes workers`` on tables and a task hub named after
    ``name`` and a fresh run id, chaos off; yields the running app and the Azurite handle
    (whose ``process`` is None when another process runs Azurite)."""
    azurite = ensure_azurite()
    run_id = uuid.uuid4().hex[:8]
    env = {
        "SAGA_STORAGE_CONNECTION": azurite.connection_string,
        "SAGA_TABLE_PREFIX": f"{name.lower()}{run_id}",
        "CHAOS_FAULT_RATE": "0",
    }
    try:
        with DevHostProcess(
            ROOT,
            azurite.connection_string,
            f"{name}{run_id}",
            env=env,
            extra_args=["--worker-processes", str(workers)],
            log_path=log_path,
        ) as app:
            yield app, azurite
    finally:
        azurite.stop()
