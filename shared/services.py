"""What the process runs on: its settings, the ledger per table, the storage ping and chaos."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Literal, Protocol

from shared.chaos import Chaos
from shared.idempotency import Ledger, MemoryLedger
from shared.idempotency.records import utc_now
from shared.settings import Settings
from shared.storage import TableStorage

StorageKind = Literal["tables", "memory"]
Clock = Callable[[], datetime]

_log = logging.getLogger(__name__)


class Storage(Protocol):
    """Where the service tables live."""

    def ledger(self, name: str, clock: Clock) -> Ledger: ...

    def ping(self, timeout_seconds: float) -> None: ...

    def close(self) -> None: ...


class MemoryStorage:
    """The in-memory twins of the tables: one `MemoryLedger` per table name, made on first use;
    the ping always answers. For tests and local experiments: nothing survives the process."""

    def __init__(self) -> None:
        self.ledgers: dict[str, MemoryLedger] = {}
        self._lock = threading.Lock()

    def ledger(self, name: str, clock: Clock = utc_now) -> MemoryLedger:
        ledger = self.ledgers.get(name)
        if ledger is None:
            with self._lock:
                ledger = self.ledgers.setdefault(name, MemoryLedger(clock=clock))
        return ledger

    def ping(self, timeout_seconds: float) -> None:
        return None

    def close(self) -> None:
        return None


class Services:
    """The settings, the storage behind every `ledger_for(table)` and /api/health's ping, the
    chaos knob (None when CHAOS_FAULT_RATE is 0) and the clock that stamps ledger records and
    judges a call's age (tests pass devhost's virtual clock), built together so they agree."""

    def __init__(
        self, settings: Settings, storage: Storage | None = None, clock: Clock = utc_now
    ) -> None:
        self.settings = settings
        self.storage: Storage = storage if storage is not None else TableStorage(settings)
        self.clock = clock
        self.chaos: Chaos | None = None
        if settings.chaos_fault_rate > 0:
            self.chaos = Chaos(settings.chaos_fault_rate, settings.chaos_seed)
            _log.warning(
                "chaos knob on: activities fail at rate %s (seed %s)",
                settings.chaos_fault_rate,
                settings.chaos_seed,
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, storage: StorageKind = "tables"
    ) -> Services:
        """Settings read from ``environ`` (default os.environ), on Azure Table storage as they
        name it or on the in-memory twins."""
        settings = Settings.from_env(os.environ if environ is None else environ)
        return cls(settings, MemoryStorage() if storage == "memory" else None)

    def with_settings(self, settings: Settings) -> Services:
        """The same storage under other settings (for tests: the storage keeps the tables it
        was made for, so change anything but where the tables are)."""
        return Services(settings, self.storage, self.clock)

    def ledger(self, table_name: str) -> Ledger:
        """The ledger over the service table `table_name` (Table storage adds the prefix)."""
        return self.storage.ledger(table_name, self.clock)

    def ping(self, timeout_seconds: float) -> None:
        """Raise unless storage answers within about ``timeout_seconds``."""
        self.storage.ping(timeout_seconds)

    def close(self) -> None:
        self.storage.close()


_lock = threading.Lock()
_built: Services | None = None  # the process's own, from the environment
_in_use: Services | None = None  # injected by `use`, seen by every thread


def current() -> Services:
    """The services in use: those injected by `use`, else the process's own, built from
    os.environ on first use (`reset` builds them afresh)."""
    global _built
    services = _in_use or _built
    if services is None:
        with _lock:
            if _built is None:
                _built = Services.from_env()
            services = _in_use or _built
    return services


@contextmanager
def use(services: Services) -> Iterator[Services]:
    """Within the block, every thread of the process runs on ``services`` (for tests, and
    devhost's activity threads under them). Blocks nest; overlapping ones from several threads
    are not supported."""
    global _in_use
    with _lock:
        previous, _in_use = _in_use, services
    try:
        yield services
    finally:
        with _lock:
            _in_use = previous


def reset() -> None:
    """Forget (and close) the process's own services, so the next `current()` reads os.environ
    again (for tests that change the environment; services injected by `use` stay)."""
    global _built
    with _lock:
        built, _built = _built, None
    if built is not None:
        built.close()
