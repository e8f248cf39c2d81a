"""End-to-end fixtures: the app over real HTTP, in a devhost process on Azurite, or on the running
host that E2E_BASE_URL names (`func start`, say), where devhost-only tests are skipped."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.process import DevHostProcess
from shared.settings import SAGA_STYLES
from tests.e2e.api import OrderApi

ROOT = Path(__file__).resolve().parents[2]
# Durable time runs this much faster than real time: backoffs and approval windows pass quickly.
TIME_SCALE = 60
BASE_URL_VARIABLE = "E2E_BASE_URL"


def given_base_url() -> str | None:
    """The host the tests should use instead of starting devhost, if E2E_BASE_URL names one."""
    url = os.environ.get(BASE_URL_VARIABLE, "").strip().rstrip("/")
    return url or None


GIVEN_BASE_URL = given_base_url()
# The ORDER_SAGA_STYLEs a devhost started here runs, each in a host of its own; a given host
# runs the style it was configured with.
STYLES = list(SAGA_STYLES) if GIVEN_BASE_URL is None else ["as-configured"]


def e2e_marks() -> list[pytest.MarkDecorator]:
    """The marks of every end-to-end module: Azurite is needed only when devhost is started here
    (a given host has its own storage), so only then does `-m "not azurite"` leave them out."""
    if GIVEN_BASE_URL is not None:
        return [pytest.mark.e2e]
    return [pytest.mark.azurite, pytest.mark.e2e]


def devhost_only(feature: str) -> pytest.MarkDecorator:
    """Skip the test when it runs against a given host: `feature` is what only devhost offers."""
    return pytest.mark.skipif(
        GIVEN_BASE_URL is not None,
        reason=f"needs devhost's {feature}; {BASE_URL_VARIABLE}={GIVEN_BASE_URL} is another host",
    )


def start_app(
    azurite: str, log_dir: Path, time_scale: float = TIME_SCALE, **settings: str
) -> DevHostProcess:
    """A devhost process with its own task hub and its own service tables, its functions in
    worker processes as `scripts/run.sh` starts it, with the replay check on; durable time
    runs ``time_scale`` times faster than real time."""
    run = uuid.uuid4().hex[:10]
    env = {
        "SAGA_STORAGE_CONNECTION": azurite,
        "SAGA_TABLE_PREFIX": f"e2e{run}",
        "APPROVAL_TIMEOUT_SECONDS": "600",
        "CHAOS_FAULT_RATE": "0",
        **settings,
    }
    return DevHostProcess(
        ROOT, azurite, f"E2E{run}", env=env, time_scale=time_scale,
        log_path=log_dir / f"devhost-{run}.log",
        extra_args=["--worker-processes", "4", "--replay-check"],
    )  # fmt: skip


def given_host(base_url: str) -> OrderApi:
    """The app on a host someone else started; fails the tests at once if it is not healthy."""
    api = OrderApi(base_url)
    try:
        response = api.http.get(api.url("/api/health"), timeout=10)
    except requests.RequestException as error:
        pytest.fail(f"{BASE_URL_VARIABLE}={base_url} does not answer: {error}", pytrace=False)
    if response.status_code != 200:
        pytest.fail(
            f"{BASE_URL_VARIABLE}={base_url}: GET /api/health answered "
            f"{response.status_code} {response.text[:200]}",
            pytrace=False,
        )
    return api


@pytest.fixture(scope="module", params=STYLES)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OrderApi]:
    """The app, shared by a module's tests (each test uses its own SKUs and customers, so they
    stay apart on a given host too, whose data outlives the run); started here once per
    ORDER_SAGA_STYLE."""
    if GIVEN_BASE_URL is not None:
        yield given_host(GIVEN_BASE_URL)
        return
    azurite: str = request.getfixturevalue("azurite")
    log_dir = tmp_path_factory.mktemp("e2e")
    with start_app(azurite, log_dir, ORDER_SAGA_STYLE=request.param) as process:
        yield OrderApi(process.base_url, style=request.param)
