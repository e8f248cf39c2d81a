"""checkov passes on both network variants of infra/ and really looked at the storage account, the
function app and, with vnetEnabled, the network; the VNet variant passes the public-access checks
that the public variant skips."""

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


# Checks that must pass in the VNet variant only (the public variant skips them, saying why).
VNET_PASSES = {
    STORAGE: {
        "CKV_AZURE_35",  # network rules deny by default
        "CKV_AZURE_59",  # public network access disabled
    },
    "Microsoft.Network/virtualNetworks.vnet": {
        "CKV_AZURE_182",  # no custom DNS servers (Azure DNS, which the private zones need)
        "CKV_AZURE_183",  # no DNS servers outside the network
    },
    "Microsoft.Network/networkSecurityGroups.appSecurityGroup": {
        "CKV_AZURE_9",  # no RDP from the internet
        "CKV_AZURE_10",  # no SSH from the internet
        "CKV_AZURE_160",  # no HTTP from the internet
    },
    "Microsoft.Network/networkSecurityGroups.privateEndpointSecurityGroup": {
        "CKV_AZURE_9",
        "CKV_AZURE_10",
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


@pytest.mark.parametrize("resource", sorted(VNET_PASSES))
def test_the_vnet_variant_passes_what_the_public_one_skips(
    checkov_reports: dict[str, dict[str, Any]], resource: str
) -> None:
    """With vnetEnabled, storage denies public access and passes CKV_AZURE_35/59 outright (their
    skips are dropped from this variant), and the network's own resources pass."""
    vnet = checkov_reports["vnet"]["results"]
    assert VNET_PASSES[resource] <= _ids_by_resource(vnet["passed_checks"]).get(resource, set())
    skipped = _ids_by_resource(vnet["skipped_checks"]).get(resource, set())
    assert skipped.isdisjoint(VNET_PASSES[resource])


def test_the_public_variant_skips_only_what_it_says_is_its_own(
    checkov_reports: dict[str, dict[str, Any]],
) -> None:
    """The skips dropped from the VNet variant are exactly the two public-access ones."""
    public = checkov_reports["public"]["results"]["skipped_checks"]
    vnet = checkov_reports["vnet"]["results"]["skipped_checks"]
    dropped = {(c["check_id"], c["resource"]) for c in public} - {
        (c["check_id"], c["resource"]) for c in vnet
    }
    assert dropped == {("CKV_AZURE_35", STORAGE), ("CKV_AZURE_59", STORAGE)}
