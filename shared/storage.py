"""Table clients, created once per process and shared by every activity thread."""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient

from shared.errors import SettingsError
from shared.settings import get_settings
from shared.table_batch import LeanBatchTableClient

_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# Creation is rare (once per table per process), so one lock is simpler than one per table.
_lock = threading.Lock()
_service: TableServiceClient | None = None
_credential: Any = None  # an azure.identity credential once one is in use
_tables: dict[str, TableClient] = {}


def get_table(name: str) -> TableClient:
    """The client for table `SAGA_TABLE_PREFIX + name`, creating the table on first use."""
    full_name = get_settings().table_prefix + name
    client = _tables.get(full_name)
    if client is not None:
        return client
    if not _TABLE_NAME.fullmatch(full_name):
        raise ValueError(
            f"table name {full_name!r} must be 3-63 letters and digits starting with a letter"
        )
    with _lock:
        client = _tables.get(full_name)
        if client is None:
            client = _table_client(full_name)
            with contextlib.suppress(ResourceExistsError):
                client.create_table()
            _tables[full_name] = client
    return client


def ping(timeout_seconds: float) -> None:
    """One cheap request (list one table name) with no retries; raises when storage cannot be
    reached within about ``timeout_seconds``. Creates nothing."""
    with _lock:
        service = _service_client()
    pages = service.list_tables(
        results_per_page=1,
        connection_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retry_total=0,
    ).by_page()
    next(pages, None)


def reset_clients() -> None:
    """Close and forget every client (for tests; after changing the environment, also call
    `get_settings.cache_clear()` so the next `get_table` sees the new settings)."""
    global _service, _credential
    with _lock:
        for client in _tables.values():
            client.close()
        _tables.clear()
        if _service is not None:
            _service.close()
            _service = None
        if _credential is not None:
            _credential.close()
            _credential = None


def _table_client(full_name: str) -> TableClient:
    _service_client()  # checks the settings and makes the credential
    settings = get_settings()
    if settings.table_endpoint:
        return LeanBatchTableClient(settings.table_endpoint, full_name, credential=_credential)
    connection = settings.storage_connection_string
    assert connection is not None  # _service_client() has checked
    return LeanBatchTableClient.from_connection_string(
        connection, table_name=full_name, use_env_settings=not is_local(connection)
    )


def is_local(connection_string: str) -> bool:
    """Whether the connection string names storage on this machine (Azurite).

    Local storage is reached directly, so no proxy, netrc or CA bundle from the environment
    applies to it; skipping their lookup on every request saves a fifth of a request's CPU."""
    settings = {}
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        settings[name.strip().lower()] = value.strip()
    if settings.get("usedevelopmentstorage", "").lower() == "true":
        return True
    return urlsplit(settings.get("tableendpoint", "")).hostname in _LOOPBACK


def _service_client() -> TableServiceClient:
    global _service, _credential
    if _service is None:
        settings = get_settings()
        if settings.table_endpoint:
            # Imported here: only Azure needs it, and it adds ~0.2 s to every cold start.
            from azure.identity import DefaultAzureCredential

            _credential = DefaultAzureCredential()
            _service = TableServiceClient(settings.table_endpoint, credential=_credential)
        elif settings.storage_connection_string:
            connection = settings.storage_connection_string
            _service = TableServiceClient.from_connection_string(
                connection, use_env_settings=not is_local(connection)
            )
        else:
            raise SettingsError(
                "SAGA_TABLE_ENDPOINT",
                "set SAGA_TABLE_ENDPOINT (Azure, managed identity) or SAGA_STORAGE_CONNECTION / "
                "AzureWebJobsStorage (a connection string, e.g. UseDevelopmentStorage=true)",
            )
    return _service
