"""Fixtures for devhost tests: the fixture apps, run in-process on virtual time (or over HTTP)."""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devhost.clock import WallClock
from devhost.testing import DevHost

APPS = Path(__file__).parent / "apps"


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting to be reaped does not count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return not any(flag in state for flag in ("Z (zombie)", "X (dead)"))


@pytest.fixture
def host() -> Iterator[DevHost]:
    """The `basics` fixture app on the in-memory store and a virtual clock."""
    with DevHost(APPS / "basics") as running:
        yield running


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Http:
    """A small blocking HTTP client for a served host (urllib: no extra dependency)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def __call__(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        json_body: object = None,
    ) -> HttpResult:
        if json_body is not None:
            body = json.dumps(json_body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        data = body.encode() if isinstance(body, str) else body
        url = path if path.startswith("http") else self.base_url + path
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return HttpResult(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return HttpResult(error.code, dict(error.headers), error.read())


@pytest.fixture
def http_host() -> Iterator[tuple[DevHost, Http]]:
    """The `http` fixture app on wall-clock time, served over real HTTP on a free port."""
    with DevHost(APPS / "http", clock=WallClock()) as running:
        yield running, Http(running.serve_http())
