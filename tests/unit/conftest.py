"""Fixtures of the engine's unit tests: the saga fixture app on devhost, in each style (a test
module defining its own `host` uses that one instead)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from devhost.testing import DevHost
from tests.unit.saga_host import APP, fake_app


@pytest.fixture(params=["declarative", "code"])
def host(request: pytest.FixtureRequest) -> Iterator[DevHost]:
    """The saga fixture app on the in-memory store and a virtual clock, journal emptied; its
    sagas run declaratively, then as plain code over the same definitions (every test using it
    holds for both)."""
    with DevHost(APP) as running:
        fake_app(running).reset()
        fake_app(running).style = request.param
        yield running
        fake_app(running).release.set()  # never leave a slow activity blocking a worker


@pytest.fixture
def fakes(host: DevHost) -> ModuleType:
    return fake_app(host)
