"""One test world: the app's `Services` in use, on the in-memory twins or on Azurite's tables."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from services.inventory import put_stock
from services.payments import put_account
from shared import services as app_services
from shared.idempotency.records import utc_now
from shared.services import Clock, MemoryStorage, Services, StorageKind
from shared.settings import Settings
from shared.storage import TableStorage

# Parameters for a fixture that runs its tests on each storage (only "tables" needs Azurite).
STORAGES = ("memory", pytest.param("tables", marks=pytest.mark.azurite))


class World:
    """The services a test runs on, put in use for every thread of the process (devhost runs
    activities in threads of the test process, so they see them too)."""

    def __init__(self, services: Services, azurite: str | None) -> None:
        self.services = services
        self.azurite = azurite
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(app_services.use(services))

    @property
    def storage(self) -> StorageKind:
        """Which storage: "memory" (the in-memory twins) or "tables" (Azurite)."""
        return "memory" if isinstance(self.services.storage, MemoryStorage) else "tables"

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def configure(self, **changes: Any) -> Services:
        """Put in use the same storage under settings with ``changes`` (Settings' fields, such
        as chaos_fault_rate or shipping_countries)."""
        self.services = self.services.with_settings(
            dataclasses.replace(self.services.settings, **changes)
        )
        self._stack.enter_context(app_services.use(self.services))
        return self.services

    def put_stock(self, sku: str, available: int, unit_price_cents: int) -> None:
        """Stock ``sku`` in this world (services/inventory.py `put_stock`)."""
        with app_services.use(self.services):
            put_stock(sku, available, unit_price_cents)

    def put_account(self, customer_id: str, balance_cents: int) -> None:
        """Fund ``customer_id`` in this world (services/payments.py `put_account`)."""
        with app_services.use(self.services):
            put_account(customer_id, balance_cents)

    def rows(self) -> set[tuple[str, str, str, str]]:
        """Every row (table, PartitionKey, RowKey, ETag) in this world's tables."""
        storage = self.services.storage
        if isinstance(storage, MemoryStorage):
            return {
                (table, partition, row_key, row.etag)
                for table, ledger in list(storage.ledgers.items())
                for (partition, row_key), row in ledger.rows().items()
            }
        assert self.azurite is not None
        prefix = self.settings.table_prefix
        service = TableServiceClient.from_connection_string(self.azurite)
        found = set()
        with service:
            for table in service.list_tables():
                if table.name.startswith(prefix):
                    for entity in service.get_table_client(table.name).list_entities():
                        key = (entity["PartitionKey"], entity["RowKey"])
                        found.add((table.name, *key, entity.metadata["etag"]))
        return found

    def close(self, drop_tables: bool = True) -> None:
        """Stop using this world's services; drop its tables unless another world shares them."""
        self._stack.close()
        storage = self.services.storage
        if drop_tables and isinstance(storage, TableStorage):
            storage.drop_tables()


@contextlib.contextmanager
def open_world(
    storage: StorageKind,
    azurite: str | None = None,
    clock: Clock = utc_now,
    **changes: Any,
) -> Iterator[World]:
    """A world of its own: default settings with ``changes``, on the in-memory twins or on
    fresh tables (a prefix of its own) in the Azurite at connection string ``azurite``;
    ``clock`` stamps its ledger records (pass devhost's virtual clock to age them with it)."""
    settings = Settings(**changes)
    if storage == "memory":
        services = Services(settings, MemoryStorage(), clock)
    else:
        assert azurite is not None, "the tables world needs the azurite fixture"
        prefix = f"w{uuid.uuid4().hex[:12]}"
        settings = dataclasses.replace(
            settings, storage_connection_string=azurite, table_prefix=prefix
        )
        services = Services(settings, clock=clock)
    world = World(services, azurite)
    try:
        yield world
    finally:
        world.close()


def world_for(
    request: pytest.FixtureRequest, storage: StorageKind
) -> contextlib.AbstractContextManager[World]:
    """`open_world` for a fixture's ``storage`` parameter (asks for Azurite only for tables)."""
    azurite = request.getfixturevalue("azurite") if storage == "tables" else None
    return open_world(storage, azurite)
