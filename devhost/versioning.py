"""Orchestration versioning as the Durable extension 3.x and DurableTask.Core apply it.

An instance gets its version when it starts (the one the client asked for, else host.json's
``defaultVersion``) and keeps it for good, through continue-as-new; a sub-orchestration gets the
version its parent asked for, else the current ``defaultVersion``. Before each episode Core
checks the instance's version against this worker's (TaskOrchestrationDispatcher): with
``versionMatchStrategy`` CurrentOrOlder a newer instance does not match, with Strict any other.
A mismatch fails the instance (``versionFailureStrategy`` Fail) or leaves it untouched for a
compatible worker (Reject).
"""

from __future__ import annotations

import re

from devhost.config import HostConfig

MISMATCH_OUTPUT = "VersionMismatch: Orchestration version did not comply with Worker Versioning"
# System.Version.TryParse: two to four non-negative integer components.
_DOTNET_VERSION = re.compile(r"^\s*\d+(\.\d+){1,3}\s*$")


def compare_versions(first: str | None, second: str | None) -> int:
    """VersioningSettings.CompareVersions: -1, 0 or 1."""
    first_empty = not (first or "").strip()
    second_empty = not (second or "").strip()
    if first_empty or second_empty:
        return (not first_empty) - (not second_empty)
    assert first is not None and second is not None
    if _DOTNET_VERSION.match(first) and _DOTNET_VERSION.match(second):
        one = tuple(int(part) for part in first.strip().split("."))
        two = tuple(int(part) for part in second.strip().split("."))
        # System.Version treats a missing component as lower than any given one.
        one, two = _padded(one, len(two)), _padded(two, len(one))
        return (one > two) - (one < two)
    folded_first, folded_second = first.casefold(), second.casefold()
    return (folded_first > folded_second) - (folded_first < folded_second)


def _padded(parts: tuple[int, ...], length: int) -> tuple[int, ...]:
    return parts + (-1,) * (length - len(parts))


def matches(config: HostConfig, instance_version: str | None) -> bool:
    """Whether this worker may run an episode of an instance of ``instance_version``."""
    strategy = config.version_match_strategy.casefold()
    if strategy == "strict":
        return instance_version == config.default_version
    if strategy == "currentorolder":
        return compare_versions(instance_version, config.default_version) <= 0
    return True


def fails_on_mismatch(config: HostConfig) -> bool:
    return config.version_failure_strategy.casefold() == "fail"
