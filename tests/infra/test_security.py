"""The security bar (design §7) holds in the Bicep itself: no keys, TLS 1.2, HTTPS, no FTP."""

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import services
from services.tables import TABLES, TABLES_FILE
from tests.infra.bicep import BICEP_FILES, INFRA, body, model, resources_of_type

SECRET_WORDS = re.compile(r"key|connectionstring|password|secret|sas|token", re.IGNORECASE)


def _only(relative: str, resource_type: str) -> dict[str, Any]:
    (declaration,) = resources_of_type(relative, resource_type).values()
    return declaration


def _service_tables() -> set[str]:
    """The tables the service modules name (their ``*_TABLE`` constants)."""
    names = set()
    for module in pkgutil.iter_modules(services.__path__, "services."):
        loaded = importlib.import_module(module.name)
        names |= {value for key, value in vars(loaded).items() if key.endswith("_TABLE")}
    return names


class TestStorageAccount:
    """The one storage account accepts Entra ID tokens over TLS 1.2+ and nothing else."""

    def test_shared_keys_public_blobs_and_plain_http_are_off(self) -> None:
        """Shared-key (and so SAS and connection-string) access is disabled, among others."""
        properties = body(_only("app/storage.bicep", "Microsoft.Storage/storageAccounts"))[
            "properties"
        ]
        assert properties["allowSharedKeyAccess"] is False
        assert properties["minimumTlsVersion"] == "TLS1_2"
        assert properties["supportsHttpsTrafficOnly"] is True
        assert properties["allowBlobPublicAccess"] is False
        assert properties["defaultToOAuthAuthentication"] is True
        assert properties["allowCrossTenantReplication"] is False
        assert properties["isLocalUserEnabled"] is False

    def test_the_saga_tables_are_the_ones_the_services_declare(self) -> None:
        """The deployment creates exactly the tables listed in services/tables.json, the file
        every service takes its table name from, so a new service declares its table once."""
        storage = model("app/storage.bicep")
        loaded = storage["variables"]["sagaTables"]["value"]["function"]
        assert loaded["type"] == "load_json_content"
        source = (INFRA / "app" / loaded["parameters"]["file_path"]).resolve()
        assert source == TABLES_FILE
        (tables,) = resources_of_type(
            "app/storage.bicep", "Microsoft.Storage/storageAccounts/tableServices/tables"
        ).values()
        assert tables["config"]["loop_type"]["detail"]["array_name"] == "sagaTables"
        assert body(tables)["name"] == "${tablePrefix}${table}"
        assert sorted(TABLES) == sorted(set(TABLES)) == sorted(_service_tables())

    def test_the_deployment_container_is_private(self) -> None:
        """The app package container allows no anonymous reads."""
        container = _only(
            "app/storage.bicep", "Microsoft.Storage/storageAccounts/blobServices/containers"
        )
        assert body(container)["properties"]["publicAccess"] == "None"


class TestFunctionApp:
    """The Flex Consumption app: HTTPS only, TLS 1.2, no FTP, one user-assigned identity."""

    def test_transport_settings(self) -> None:
        """HTTPS only, TLS 1.2 for the site and for deployments, FTPS disabled."""
        app = body(_only("app/function.bicep", "Microsoft.Web/sites"))
        assert app["properties"]["httpsOnly"] is True
        site_config = app["properties"]["siteConfig"]
        assert site_config["ftpsState"] == "Disabled"
        assert site_config["minTlsVersion"] == "1.2"
        assert site_config["scmMinTlsVersion"] == "1.2"

    def test_the_app_runs_as_the_user_assigned_identity_only(self) -> None:
        """No system-assigned identity: every role belongs to the one shared identity."""
        identity = body(_only("app/function.bicep", "Microsoft.Web/sites"))["identity"]
        assert identity["type"] == "UserAssigned"
        assert identity["userAssignedIdentities"] == {"'${identityId}'": {}}


def test_application_insights_takes_only_entra_id_authenticated_telemetry() -> None:
    """Local auth is off, so the connection string alone cannot send anything."""
    component = body(_only("app/monitoring.bicep", "Microsoft.Insights/components"))
    assert component["properties"]["DisableLocalAuth"] is True


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.name)
def test_no_key_listing_or_sas_anywhere(path: Path) -> None:
    """No listKeys/listAccountSas/listServiceSas/listSecrets call and no account key text."""
    text = path.read_text()
    assert not re.search(r"\blist(Keys|AccountSas|ServiceSas|Secrets|ConnectionStrings)\b", text)
    assert not re.search(r"AccountKey|SharedAccessSignature|InstrumentationKey=", text)


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.name)
def test_no_output_looks_like_a_secret(path: Path) -> None:
    """Outputs are ARM-visible to anyone who can read the deployment: names and ids only."""
    outputs = model(path.relative_to(INFRA).as_posix()).get("outputs", {})
    for name, output in outputs.items():
        assert not SECRET_WORDS.search(name), name
        assert not SECRET_WORDS.search(str(output["value"])), name
        assert "secure" not in {decorator["type"] for decorator in output["decorators"]}
