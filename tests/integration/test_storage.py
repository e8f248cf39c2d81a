"""Table clients: one per table, created once, named with the prefix; identity auth in Azure."""

from __future__ import annotations

import uuid

import pytest
from azure.identity import DefaultAzureCredential

from shared import storage
from shared.errors import SettingsError
from shared.settings import Settings
from shared.storage import TableStorage
from shared.table_batch import LeanBatchTableClient


def tables(environ: dict[str, str]) -> TableStorage:
    """Table storage as the environment ``environ`` (and nothing else) configures it."""
    return TableStorage(Settings.from_env(environ))


@pytest.mark.azurite
def test_a_table_is_created_once_and_its_client_shared(azurite: str) -> None:
    """The prefix is applied, the table exists after first use, and the client is reused."""
    prefix = f"st{uuid.uuid4().hex[:10]}"
    storage = tables({"SAGA_STORAGE_CONNECTION": azurite, "SAGA_TABLE_PREFIX": prefix})
    client = storage.get_table("Orders")
    assert client.table_name == f"{prefix}Orders"
    assert storage.get_table("Orders") is client
    client.create_entity({"PartitionKey": "p", "RowKey": "r"})  # the table really exists
    storage.drop_tables()


def test_an_endpoint_selects_managed_identity_without_keys() -> None:
    """With SAGA_TABLE_ENDPOINT the service client authenticates with DefaultAzureCredential
    (no connection string involved); nothing is sent until the table is first used."""
    storage = tables(
        {
            "SAGA_TABLE_ENDPOINT": "https://account.table.core.windows.net",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        }
    )
    service = storage._service_client()
    assert service.url.startswith("https://account.table.core.windows.net")
    assert isinstance(storage._credential, DefaultAzureCredential)
    assert service.credential is storage._credential
    storage.close()


def test_no_storage_setting_is_a_clear_error() -> None:
    with pytest.raises(SettingsError, match="set SAGA_TABLE_ENDPOINT"):
        tables({}).get_table("Orders")


def test_an_invalid_table_name_is_refused_before_any_request() -> None:
    storage = tables({"SAGA_STORAGE_CONNECTION": "UseDevelopmentStorage=true"})
    for bad in ("ab", "Order-Lines", "1Orders"):
        with pytest.raises(ValueError, match="must be 3-63 letters and digits"):
            storage.get_table(bad)


@pytest.mark.azurite
def test_tables_commit_transactions_through_the_lean_codec(azurite: str) -> None:
    prefix = f"st{uuid.uuid4().hex[:10]}"
    storage = tables({"SAGA_STORAGE_CONNECTION": azurite, "SAGA_TABLE_PREFIX": prefix})
    assert isinstance(storage.get_table("Orders"), LeanBatchTableClient)
    storage.drop_tables()


@pytest.mark.parametrize(
    ("connection_string", "local"),
    [
        ("UseDevelopmentStorage=true", True),
        ("AccountName=devstoreaccount1;AccountKey=a2V5;"
         "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;", True),
        ("TableEndpoint=http://localhost:10002/devstoreaccount1", True),
        ("DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;"
         "EndpointSuffix=core.windows.net", False),
        ("TableEndpoint=https://prod.table.core.windows.net/;SharedAccessSignature=sv=1", False),
    ],
)  # fmt: skip
def test_only_local_storage_skips_proxy_settings(connection_string: str, local: bool) -> None:
    """Proxies, netrc and CA bundles from the environment still apply to every remote account."""
    assert storage.is_local(connection_string) is local
