"""Orchestration versioning (azure-functions-durable 1.7 with the Durable extension 3.x).

Sources: durabletask src/DurableTask.Core (core-v3.8.0) TaskOrchestrationDispatcher.cs (the
check before each work item) and Settings/VersioningSettings.cs (CompareVersions); the
extension's DurableTaskExtension.InitializeTaskHubWorker (host.json defaultVersion,
versionMatchStrategy, versionFailureStrategy) and the Durable Functions versioning docs
(defaults CurrentOrOlder and Reject); SDK 1.7 DurableOrchestrationClient._get_start_new_url
(?version=) and DurableOrchestrationContext.version.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from devhost.config import HostConfig
from devhost.instance import COMPLETED, FAILED, PENDING
from devhost.testing import DevHost
from devhost.versioning import MISMATCH_OUTPUT, compare_versions

APP = Path(__file__).parents[1] / "apps" / "fidelity_executor"


def host_with(**settings: object) -> DevHost:
    base = HostConfig.load(APP)
    return DevHost(APP, config=dataclasses.replace(base, **settings))  # type: ignore[arg-type]


def test_without_a_default_version_the_version_is_none() -> None:
    """No defaultVersion: ExecutionStarted.Version is null and context.version is None."""
    with host_with() as host:
        state = host.wait_for(host.start("version_of"))
    assert (state.runtime_status, json.loads(state.output or "")) == (COMPLETED, None)


def test_instances_and_sub_orchestrations_get_the_default_and_keep_it() -> None:
    """defaultVersion applies to new instances and to sub-orchestrations started without a
    version; an explicit sub-orchestration version wins; continue-as-new keeps the version
    (ProcessWorkflowCompletedTaskDecision: NewVersion ?? the instance's)."""
    with host_with(default_version="1.0") as host:
        state = host.wait_for(host.start("versioned"))
    assert json.loads(state.output or "") == ["1.0", "0.9", "1.0"]


def test_a_newer_instance_is_left_untouched_under_reject() -> None:
    """CurrentOrOlder + Reject (the defaults): an instance newer than this host's
    defaultVersion is not run; it stays Pending for a compatible host."""
    with host_with(default_version="1.0") as host:
        instance_id = host.call(host._hub.start_new("version_of", None, "null", version="2.0"))
        host.wait_idle()
        assert host.state(instance_id).runtime_status == PENDING


def test_a_newer_instance_fails_under_fail() -> None:
    """versionFailureStrategy Fail: the instance fails without being run, with Core's
    FailureDetails text as its output."""
    with host_with(default_version="1.0", version_failure_strategy="Fail") as host:
        instance_id = host.call(host._hub.start_new("version_of", None, "null", version="2.0"))
        state = host.wait_for(instance_id)
    assert (state.runtime_status, json.loads(state.output or "")) == (FAILED, MISMATCH_OUTPUT)


def test_strict_accepts_only_the_same_version() -> None:
    """Strict compares the versions as strings: an older instance does not match either."""
    with host_with(
        default_version="1.0", version_match_strategy="Strict", version_failure_strategy="Fail"
    ) as host:
        older = host.call(host._hub.start_new("version_of", None, "null", version="0.9"))
        same = host.call(host._hub.start_new("version_of", None, "null", version="1.0"))
        assert host.wait_for(older).runtime_status == FAILED
        assert host.wait_for(same).runtime_status == COMPLETED


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("1.0", "1.0", 0),
        ("1.10", "1.9", 1),
        ("2.0", "10.0", -1),
        ("1.0", "1.0.0", -1),
        ("", None, 0),
        ("1.0", None, 1),
        (None, "1.0", -1),
        ("beta", "Alpha", 1),
        ("v2", "v10", 1),
    ],
)
def test_versions_compare_as_core_compares_them(
    first: str | None, second: str | None, expected: int
) -> None:
    """VersioningSettings.CompareVersions: empty versions first, System.Version when both
    parse, else an ordinal comparison ignoring case."""
    assert compare_versions(first, second) == expected
