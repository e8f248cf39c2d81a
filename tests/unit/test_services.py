"""`shared.services`: one place decides the settings, the storage and the chaos knob."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from shared import services
from shared.chaos import current_chaos
from shared.idempotency import MemoryLedger
from shared.ledgers import ledger_for
from shared.services import MemoryStorage, Services, current
from shared.settings import Settings, get_settings
from shared.storage import TableStorage


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("CHAOS_FAULT_RATE", "CHAOS_SEED", "SAGA_TABLE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    services.reset()
    yield
    services.reset()


def test_the_process_builds_its_services_once_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAGA_TABLE_PREFIX", "one")
    built = current()
    assert current() is built
    assert isinstance(built.storage, TableStorage)
    assert get_settings() is built.settings
    assert built.settings.table_prefix == "one"
    monkeypatch.setenv("SAGA_TABLE_PREFIX", "two")
    assert get_settings().table_prefix == "one"
    services.reset()
    assert get_settings().table_prefix == "two"


def test_services_in_use_reach_every_thread_and_nest() -> None:
    outer = Services(Settings(chaos_fault_rate=0.5, chaos_seed=1), MemoryStorage())
    inner = Services(Settings(order_saga_style="imperative"), MemoryStorage())
    seen: list[Services] = []
    with services.use(outer):
        with services.use(inner):
            thread = threading.Thread(target=lambda: seen.append(current()))
            thread.start()
            thread.join()
            assert get_settings().order_saga_style == "imperative"
            assert current_chaos() is None
        assert current() is outer
        assert current_chaos() is outer.chaos is not None
        services.reset()  # re-reads the environment, but what is in use stays
        assert current() is outer
    assert seen == [inner]
    assert current() is not outer


def test_the_memory_twins_keep_one_ledger_per_table() -> None:
    storage = MemoryStorage()
    with services.use(Services(Settings(), storage)):
        orders = ledger_for("Orders")
        assert isinstance(orders, MemoryLedger)
        assert ledger_for("Orders") is orders
        assert ledger_for("Inventory") is not orders
        current().ping(0.1)  # always answers
    assert set(storage.ledgers) == {"Orders", "Inventory"}


def test_other_settings_keep_the_storage_and_rebuild_the_knob() -> None:
    calm = Services(Settings(), MemoryStorage())
    chaotic = calm.with_settings(Settings(chaos_fault_rate=1.0, chaos_seed=2))
    assert chaotic.storage is calm.storage
    assert (calm.chaos, chaotic.chaos is not None) == (None, True)
