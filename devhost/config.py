"""Reads host.json and local.settings.json the way `func start` does."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_HUB_NAME = "TestHubName"
HOST_JSON_VERSION = "2.0"
_HOST_JSON_HELP = "https://aka.ms/functions-hostjson"


class HostConfigError(ValueError):
    """host.json is there but the host would refuse it (and not start)."""


@dataclass(frozen=True)
class ThrottleSettings:
    """extensions.http's throttles in host.json (see devhost.http.throttle): -1, the default,
    means no limit."""

    max_outstanding_requests: int = -1
    max_concurrent_requests: int = -1
    dynamic_throttles_enabled: bool = False

    @property
    def enabled(self) -> bool:
        return (
            self.max_outstanding_requests > 0
            or self.max_concurrent_requests > 0
            or self.dynamic_throttles_enabled
        )


@dataclass(frozen=True)
class HostConfig:
    """The host.json settings devhost honours."""

    route_prefix: str = "api"
    hub_name: str = DEFAULT_HUB_NAME
    max_concurrent_activities: int = 10
    max_concurrent_orchestrations: int = 10
    # The extension's default since 2.0 (DurableTaskOptions.cs): a running id is not replaced.
    overridable_existing_instance_states: str = "NonRunningStates"
    # Orchestration versioning (extensions.durableTask; defaults as the Durable docs give them).
    default_version: str | None = None
    version_match_strategy: str = "CurrentOrOlder"
    version_failure_strategy: str = "Reject"
    throttle: ThrottleSettings = ThrottleSettings()

    @property
    def replaces_running_instances(self) -> bool:
        return self.overridable_existing_instance_states.lower() != "nonrunningstates"

    @classmethod
    def load(cls, app_dir: Path) -> HostConfig:
        path = app_dir / "host.json"
        if not path.exists():
            return cls()
        data = read_host_json(path)
        extensions = data.get("extensions", {})
        durable = extensions.get("durableTask", {})
        http = extensions.get("http", {})
        prefix = http.get("routePrefix", "api")
        return cls(
            route_prefix=prefix.strip("/"),
            hub_name=_expand(durable.get("hubName", DEFAULT_HUB_NAME)),
            max_concurrent_activities=_work_limit(durable, "maxConcurrentActivityFunctions"),
            max_concurrent_orchestrations=_work_limit(
                durable, "maxConcurrentOrchestratorFunctions"
            ),
            overridable_existing_instance_states=str(
                durable.get("overridableExistingInstanceStates", "NonRunningStates")
            ),
            default_version=durable.get("defaultVersion"),
            version_match_strategy=str(durable.get("versionMatchStrategy", "CurrentOrOlder")),
            version_failure_strategy=str(durable.get("versionFailureStrategy", "Reject")),
            throttle=ThrottleSettings(
                max_outstanding_requests=int(http.get("maxOutstandingRequests", -1)),
                max_concurrent_requests=int(http.get("maxConcurrentRequests", -1)),
                dynamic_throttles_enabled=_flag(http.get("dynamicThrottlesEnabled", False)),
            ),
        )


def read_host_json(path: Path) -> dict[str, Any]:
    """host.json as the host reads it (HostJsonFileConfigurationSource.cs): Json.NET allows
    comments and trailing commas; a file that still does not parse as an object, or whose
    ``version`` is not "2.0", stops the host with these messages."""
    try:
        data = json.loads(_without_comments_and_trailing_commas(path.read_text("utf-8-sig")))
        if not isinstance(data, dict):
            raise ValueError(f"the file holds a JSON {type(data).__name__}, not an object")
    except ValueError as error:
        raise HostConfigError(
            f"Unable to parse host configuration file '{path}'. ({error})"
        ) from None
    if not data:
        return {"version": HOST_JSON_VERSION}  # the host fills in an empty file itself
    version = data.get("version")
    if not version:
        raise HostConfigError(
            f"The host.json file is missing the required 'version' property. See "
            f"{_HOST_JSON_HELP} for steps to migrate the configuration file. ({path})"
        )
    if not isinstance(version, str) or version != HOST_JSON_VERSION:
        raise HostConfigError(
            f"'{version}' is an invalid value for host.json 'version' property. We recommend "
            f"you set the 'version' property to '2.0'. See {_HOST_JSON_HELP} for more "
            f"information on this configuration file. ({path})"
        )
    return data


_STRING = r'"(?:\\.|[^"\\\n])*"'
_COMMENTS = re.compile(_STRING + r"|//[^\n]*|/\*[\s\S]*?\*/")
_TRAILING_COMMAS = re.compile(_STRING + r"|,(?=\s*[}\]])")


def _without_comments_and_trailing_commas(text: str) -> str:
    def keep_strings(match: re.Match[str]) -> str:
        return match.group() if match.group().startswith('"') else ""

    return _TRAILING_COMMAS.sub(keep_strings, _COMMENTS.sub(keep_strings, text))


def _work_limit(durable: dict[str, Any], name: str) -> int:
    """A durableTask concurrency limit; the extension refuses one below 1 at startup
    (DurableTaskOptions.Validate in azure-functions-durable-extension)."""
    limit = int(durable.get(name, 10))
    if limit <= 0:
        pascal = name[0].upper() + name[1:]
        raise HostConfigError(f"{pascal} must be a positive integer value.")
    return limit


def _flag(value: object) -> bool:
    """A host.json boolean: JSON true/false, or the strings "true"/"false" (Json.NET reads both)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


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
