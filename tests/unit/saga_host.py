"""Helpers for the engine's unit tests on the saga fixture app (apps/saga); its `host` and
`fakes` fixtures are in tests/unit/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from devhost.history import EventType
from devhost.testing import DevHost

APP = Path(__file__).parent / "apps" / "saga"


def fake_app(host: DevHost) -> ModuleType:
    function = host.functions.activities["reserve"].get_user_function()
    return sys.modules[function.__module__]


def events(host: DevHost, instance_id: str, kind: EventType) -> list[dict[str, Any]]:
    """The instance's history events of one kind."""
    return [e for e in host.state(instance_id).history if e["EventType"] == kind]
