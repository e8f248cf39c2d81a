"""Table clients: one per table, created once, named with the prefix; identity auth in Azure."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from azure.data.tables import TableClient
from azure.identity import DefaultAzureCredential

from shared import storage, table_batch
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


def test_the_installed_sdk_is_the_one_the_lean_codec_was_written_against() -> None:
    """Fails on an azure-data-tables upgrade that touches the overridden code: re-run
    tests/integration/test_table_batch.py against it, then update the pinned sources."""
    assert table_batch.sdk_difference() is None


def test_a_changed_sdk_method_is_noticed() -> None:
    class Changed(TableClient):
        def _batch_send(self, table_name: str, *reqs: Any, **kwargs: Any) -> list[Any]:
            return []

    assert table_batch.sdk_difference(Changed) == (
        "TableClient._batch_send is not the code the lean codec was written against"
    )


@pytest.mark.azurite
def test_a_changed_sdk_falls_back_to_its_own_client_with_one_warning(
    azurite: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The public path: the SDK's TableClient commits the same transactions, only costlier."""
    monkeypatch.setattr(table_batch, "sdk_difference", lambda: "TableClient._batch_send differs")
    table_batch.table_client_class.cache_clear()
    try:
        prefix = f"st{uuid.uuid4().hex[:10]}"
        storage = tables({"SAGA_STORAGE_CONNECTION": azurite, "SAGA_TABLE_PREFIX": prefix})
        with caplog.at_level(logging.WARNING, "shared.table_batch"):
            clients = [storage.get_table("Orders"), storage.get_table("Inventory")]
        assert [type(client) for client in clients] == [TableClient, TableClient]
        [warning] = [r for r in caplog.records if r.name == "shared.table_batch"]
        assert "TableClient._batch_send differs" in warning.getMessage()
        ledger = storage.ledger("Orders")
        ledger.run_once("p", "k", lambda uow: uow.upsert({"RowKey": "r", "v": 1}))
        assert ledger.get("p", "r") == {"PartitionKey": "p", "RowKey": "r", "v": 1}
        storage.drop_tables()
    finally:
        table_batch.table_client_class.cache_clear()


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
