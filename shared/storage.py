"""Azure Table storage for one `Settings`: its table clients, made once and shared by threads."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient

from shared.errors import SettingsError
from shared.idempotency import TableLedger
from shared.idempotency.records import utc_now
from shared.idempotency.row_memory import RowMemory
from shared.loopback_pipeline import loopback_policies
from shared.loopback_transport import LOOPBACK as _LOOPBACK
from shared.loopback_transport import LoopbackTransport
from shared.settings import AZURITE_CONNECTION_STRING, Settings
from shared.table_batch import LeanBatchTableClient, table_client_class

_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")


class TableStorage:
    """The tables named by ``settings`` (SAGA_TABLE_ENDPOINT, or a connection string, and
    SAGA_TABLE_PREFIX); nothing is sent before the first use. `shared.services` makes one per
    process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Creation is rare (once per table), so one lock is simpler than one per table.
        self._lock = threading.Lock()
        self._service: TableServiceClient | None = None
        self._credential: Any = None  # an azure.identity credential once one is in use
        self._tables: dict[str, TableClient] = {}
        # Per table, what this process last committed to it (see Ledger.run_once's recall).
        self._memories: dict[str, RowMemory] = {}

    def ledger(self, name: str, clock: Callable[[], datetime] = utc_now) -> TableLedger:
        """The ledger over table `name`: a thin wrapper around the shared client, cheap to make
        per call."""
        table = self.get_table(name)
        # Not `get(name) or ...`: an empty RowMemory is falsy (it has a length).
        memory = self._memories.get(name)
        if memory is None:
            memory = self._memories.setdefault(name, RowMemory())
        return TableLedger(table, clock=clock, memory=memory)

    def get_table(self, name: str) -> TableClient:
        """The client for table `SAGA_TABLE_PREFIX + name`, creating the table on first use."""
        full_name = self.settings.table_prefix + name
        client = self._tables.get(full_name)
        if client is not None:
            return client
        if not _TABLE_NAME.fullmatch(full_name):
            raise ValueError(
                f"table name {full_name!r} must be 3-63 letters and digits starting with a letter"
            )
        with self._lock:
            client = self._tables.get(full_name)
            if client is None:
                client = self._table_client(full_name)
                with contextlib.suppress(ResourceExistsError):
                    client.create_table()
                self._tables[full_name] = client
        return client

    def ping(self, timeout_seconds: float) -> None:
        """One cheap request (list one table name) with no retries; raises when storage cannot be
        reached within about ``timeout_seconds``. Creates nothing."""
        with self._lock:
            service = self._service_client()
        pages = service.list_tables(
            results_per_page=1,
            connection_timeout=timeout_seconds,
            read_timeout=timeout_seconds,
            retry_total=0,
        ).by_page()
        next(pages, None)

    def drop_tables(self) -> None:
        """Delete every table this object created or opened (for tests), then close."""
        with self._lock:
            clients = list(self._tables.values())
        for client in clients:
            client.delete_table()
        self.close()

    def close(self) -> None:
        """Close and forget every client; the next use makes new ones."""
        with self._lock:
            for client in self._tables.values():
                client.close()
            self._tables.clear()
            if self._service is not None:
                self._service.close()
                self._service = None
            if self._credential is not None:
                self._credential.close()
                self._credential = None

    def _table_client(self, full_name: str) -> TableClient:
        self._service_client()  # checks the settings and makes the credential
        settings = self.settings
        if settings.table_endpoint:
            return table_client_class()(
                settings.table_endpoint, full_name, credential=self._credential
            )
        connection = settings.storage_connection_string
        assert connection is not None  # _service_client() has checked
        return table_client_class().from_connection_string(
            connection, table_name=full_name, **client_options(connection)
        )

    def _service_client(self) -> TableServiceClient:
        if self._service is None:
            settings = self.settings
            if settings.table_endpoint:
                # Imported here: only Azure needs it, and it adds ~0.2 s to every cold start.
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
                self._service = TableServiceClient(
                    settings.table_endpoint, credential=self._credential
                )
            elif settings.storage_connection_string:
                connection = settings.storage_connection_string
                self._service = TableServiceClient.from_connection_string(
                    connection, **client_options(connection)
                )
            else:
                raise SettingsError(
                    "SAGA_TABLE_ENDPOINT",
                    "set SAGA_TABLE_ENDPOINT (Azure, managed identity) or SAGA_STORAGE_CONNECTION"
                    " / AzureWebJobsStorage (a connection string, e.g. UseDevelopmentStorage=true)",
                )
        return self._service


def client_options(connection_string: str) -> dict[str, Any]:
    """The SDK client options for this connection string: storage on this machine skips the
    environment's proxy and netrc settings (their lookup alone was a fifth of a request's CPU)
    and a client request id per request (a time-based uuid1, a sixth of a request's CPU; it
    only helps to find a request in Azure's storage logs), takes a short pipeline of policies
    (`shared.loopback_pipeline`, a tenth), and, over plain HTTP (Azurite), goes through
    `LoopbackTransport` (half a request's CPU); anything else keeps the SDK's defaults."""
    settings = _connection_settings(connection_string)
    endpoint = urlsplit(_table_endpoint(settings))
    if endpoint.hostname not in _LOOPBACK:
        return {}
    local: dict[str, Any] = {"use_env_settings": False, "auto_request_id": False}
    account, key = _account_key(settings)
    if account and key:
        local["policies"] = loopback_policies(account, key)
    if (
        endpoint.scheme != "http"
        # The SDK's own transaction code reads multipart answers through azure-core's private
        # response classes: with it (see shared.table_batch) the SDK's transport stays.
        or table_client_class() is not LeanBatchTableClient
    ):
        return local
    return {**local, "transport": LoopbackTransport()}


def is_local(connection_string: str) -> bool:
    """Whether the connection string names storage on this machine (Azurite)."""
    return urlsplit(_table_endpoint(_connection_settings(connection_string))).hostname in _LOOPBACK


def _connection_settings(connection_string: str) -> dict[str, str]:
    """A connection string's settings, by lower-case name; UseDevelopmentStorage=true stands for
    Azurite's account, key and endpoints (the SDK reads it the same way)."""
    settings = {}
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        settings[name.strip().lower()] = value.strip()
    if settings.get("usedevelopmentstorage", "").lower() == "true":
        return _connection_settings(AZURITE_CONNECTION_STRING)
    return settings


def _table_endpoint(settings: dict[str, str]) -> str:
    """The Table endpoint a connection string names."""
    return settings.get("tableendpoint", "")


def _account_key(settings: dict[str, str]) -> tuple[str, str]:
    """The account name and key a connection string signs with ("" when it has none)."""
    return settings.get("accountname", ""), settings.get("accountkey", "")
