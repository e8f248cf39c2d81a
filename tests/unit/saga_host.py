"""Helpers for the engine's unit tests on the saga fixture app (apps/saga); its `host` and
`fakes` fixtures are in tests/unit/conftest.py."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from devhost.history import EventType
from devhost.testing import DevHost, VirtualClock

APP = Path(__file__).parent / "apps" / "saga"


def fake_app(host: DevHost) -> ModuleType:
    function = host.functions.activities["reserve"].get_user_function()
    return sys.modules[function.__module__]


def journal(fakes: ModuleType, instance_id: str) -> list[tuple[str, str]]:
    """(activity, what it did) for one instance, in the order the fake activities ran."""
    return [(name, done) for name, key, done in fakes.journal if key.startswith(instance_id)]


def events(host: DevHost, instance_id: str, kind: EventType) -> list[dict[str, Any]]:
    """The instance's history events of one kind."""
    return [e for e in host.state(instance_id).history if e["EventType"] == kind]


def scheduled(host: DevHost, instance_id: str) -> list[str]:
    """The activities the instance scheduled, in order."""
    return [e["Name"] for e in events(host, instance_id, EventType.TASK_SCHEDULED)]


def step(host: DevHost, instance_id: str, name: str) -> dict[str, Any]:
    """One step's entry in the instance's progress record."""
    return next(s for s in host.custom_status(instance_id)["steps"] if s["name"] == name)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def clock(host: DevHost) -> VirtualClock:
    assert isinstance(host.clock, VirtualClock)
    return host.clock


def move_clock(host: DevHost, seconds: float) -> None:
    """Advance virtual time while an activity still runs (``host.advance`` waits for idle)."""

    async def advance() -> None:
        clock(host).advance(seconds)

    host.call(advance())
