"""Reads host.json and local.settings.json the way `func start` does."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_HUB_NAME = "TestHubName"


@dataclass(frozen=True)
class HostConfig:
    """The host.json settings devhost honours."""

    route_prefix: str = "api"
    hub_name: str = DEFAULT_HUB_NAME
    max_concurrent_activities: int = 10
    max_concurrent_orchestrations: int = 10
    # The extension's default: starting an id that is still running replaces that instance.
    overridable_existing_instance_states: str = "AnyState"

    @property
    def replaces_running_instances(self) -> bool:
        return self.overridable_existing_instance_states.lower() != "nonrunningstates"

    @classmethod
    def load(cls, app_dir: Path) -> HostConfig:
        path = app_dir / "host.json"
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        extensions = data.get("extensions", {})
        durable = extensions.get("durableTask", {})
        prefix = extensions.get("http", {}).get("routePrefix", "api")
        return cls(
            route_prefix=prefix.strip("/"),
            hub_name=_expand(durable.get("hubName", DEFAULT_HUB_NAME)),
            max_concurrent_activities=int(durable.get("maxConcurrentActivityFunctions", 10)),
            max_concurrent_orchestrations=int(
                durable.get("maxConcurrentOrchestratorFunctions", 10)
            ),
            overridable_existing_instance_states=str(
                durable.get("overridableExistingInstanceStates", "AnyState")
            ),
        )


def _expand(value: str) -> str:
    """Resolve a %SETTING% reference as the host does for hub names."""
    if value.startswith("%") and value.endswith("%") and len(value) > 2:
        return os.environ.get(value[1:-1], DEFAULT_HUB_NAME)
    return value


def load_local_settings(app_dir: Path, environ: Any = os.environ) -> dict[str, str]:
    """Copy local.settings.json Values into the environment; real variables win, as with func."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        return {}
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    applied = {}
    for key, value in values.items():
        if key not in environ:
            environ[key] = str(value)
            applied[key] = str(value)
    return applied
