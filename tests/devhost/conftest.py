"""Fixtures for devhost tests: the fixture apps, run in-process on virtual time."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHost

APPS = Path(__file__).parent / "apps"


@pytest.fixture
def host() -> Iterator[DevHost]:
    """The `basics` fixture app on the in-memory store and a virtual clock."""
    with DevHost(APPS / "basics") as running:
        yield running
