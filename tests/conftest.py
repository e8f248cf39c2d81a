"""Session fixture `azurite`: a reachable storage emulator for every test marked `azurite`; and
`world`: the app's services in use, on each storage (tests/world.py)."""

from collections.abc import Iterator

import pytest

from devhost.azurite import ensure_azurite
from tests.world import STORAGES, World, world_for


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """Yield the connection string of a running Azurite, started here only if none was running."""
    handle = ensure_azurite()
    try:
        yield handle.connection_string
    finally:
        handle.stop()


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection, so fixture users count as marked
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give marked tests the fixture, and mark the tests that request it."""
    for item in items:
        marked = item.get_closest_marker("azurite") is not None
        fixturenames: list[str] = getattr(item, "fixturenames", [])
        if marked and "azurite" not in fixturenames:
            fixturenames.append("azurite")
        elif not marked and "azurite" in fixturenames:
            item.add_marker("azurite")


@pytest.fixture(params=STORAGES)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The app's services in use for one test: on the in-memory twins ("memory", the fast part
    of the suite) and on fresh tables in Azurite ("tables", marked azurite)."""
    with world_for(request, request.param) as world:
        yield world
