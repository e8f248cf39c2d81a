"""checkov passes on infra/ and really looked at the storage account and the function app."""

from typing import Any

import pytest

STORAGE = "Microsoft.Storage/storageAccounts.storage"
FUNCTION_APP = "Microsoft.Web/sites.functionApp"

# Checks that must have PASSED (not merely not failed) on each resource.
REQUIRED_PASSES = {
    STORAGE: {
        "CKV_AZURE_3",  # supportsHttpsTrafficOnly
        "CKV_AZURE_44",  # minimum TLS 1.2
        "CKV_AZURE_36",  # trusted Azure services may bypass the network rules
    },
    "Microsoft.Storage/storageAccounts/blobServices/containers.deploymentContainer": {
        "CKV_AZURE_34",  # no public access to the deployment package
    },
    FUNCTION_APP: {
        "CKV_AZURE_70",  # httpsOnly
        "CKV_AZURE_78",  # FTP(S) deployments disabled
        "CKV_AZURE_145",  # function app minimum TLS 1.2
        "CKV_AZURE_71",  # managed identity
        "CKV_AZURE_67",  # HTTP/2
        "CKV_AZURE_72",  # no remote debugging
    },
}


def _ids_by_resource(checks: list[dict[str, Any]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for check in checks:
        found.setdefault(check["resource"], set()).add(check["check_id"])
    return found


def test_checkov_reports_no_failed_check_and_no_parsing_error(
    checkov_report: dict[str, Any],
) -> None:
    """Every directly declared resource passes or carries a justified skip."""
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []
    assert checkov_report["summary"]["parsing_errors"] == 0


@pytest.mark.parametrize("resource", sorted(REQUIRED_PASSES))
def test_checkov_checked_and_passed_the_key_resources(
    checkov_report: dict[str, Any], resource: str
) -> None:
    """The resources are declared in our own files, so checkov sees them (it cannot see into
    registry modules); the named checks passed on them."""
    passed = _ids_by_resource(checkov_report["results"]["passed_checks"])
    assert REQUIRED_PASSES[resource] <= passed.get(resource, set())


def test_every_skip_is_justified_next_to_its_resource(checkov_report: dict[str, Any]) -> None:
    """A skip is a `#checkov:skip=ID: reason` comment inside the resource, with a real reason."""
    skipped = checkov_report["results"]["skipped_checks"]
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "").strip()
        assert len(reason) >= 40, f"{check['check_id']} on {check['resource']}: {reason!r}"
    # Security settings of the design bar are never skipped.
    never_skipped = {"CKV_AZURE_3", "CKV_AZURE_44", "CKV_AZURE_70", "CKV_AZURE_78", "CKV_AZURE_145"}
    assert never_skipped.isdisjoint({check["check_id"] for check in skipped})
