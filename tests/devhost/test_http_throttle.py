"""host.json's HTTP throttles (maxOutstandingRequests, maxConcurrentRequests,
dynamicThrottlesEnabled), as the Functions host applies them: azure-functions-host,
src/WebJobs.Script.WebHost/Middleware/HttpThrottleMiddleware.cs (429 with X-FUNCTION-SCALEOUT,
the load verdict held between checks) and HttpRequestQueue.cs; every request but /admin ones
(WebJobsApplicationBuilderExtension.cs). devhost's own load counters: devhost/http/throttle.py.
"""

from __future__ import annotations

import asyncio
import functools
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from devhost.config import HostConfig, ThrottleSettings
from devhost.http.throttle import SCALE_OUT_HEADER, HttpThrottle, LoadMonitor
from devhost.process import DevHostProcess
from tests.polling import eventually

APP = Path(__file__).parent / "apps" / "throttled"


def test_host_json_sets_the_throttles(tmp_path: Path) -> None:
    http = {"maxOutstandingRequests": 20, "maxConcurrentRequests": 4}
    host_json = {
        "version": "2.0",
        "extensions": {"http": {**http, "dynamicThrottlesEnabled": "True"}},
    }
    (tmp_path / "host.json").write_text(json.dumps(host_json))
    assert HostConfig.load(tmp_path).throttle == ThrottleSettings(20, 4, True)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    throttle = HostConfig.load(tmp_path).throttle
    assert throttle == ThrottleSettings(-1, -1, False) and not throttle.enabled


def _ok() -> web.Response:
    return web.Response(text="ran")


def test_requests_past_max_outstanding_are_too_busy() -> None:
    async def scenario() -> list[int]:
        throttle = HttpThrottle(ThrottleSettings(max_outstanding_requests=2), lambda: [])
        release = asyncio.Event()

        async def slow() -> web.StreamResponse:
            await release.wait()
            return _ok()

        async def quick() -> web.StreamResponse:
            return _ok()

        held = [asyncio.create_task(throttle.admit(slow)) for _ in range(2)]
        await asyncio.sleep(0)
        rejected = await throttle.admit(quick)
        assert rejected.headers[SCALE_OUT_HEADER] == "1" and rejected.body is None
        release.set()
        statuses = [(await task).status for task in held]
        return [*statuses, rejected.status, (await throttle.admit(quick)).status]

    assert asyncio.run(scenario()) == [200, 200, 429, 200]


def test_max_concurrent_requests_makes_the_rest_wait_not_fail() -> None:
    async def scenario() -> tuple[int, list[int]]:
        throttle = HttpThrottle(ThrottleSettings(max_concurrent_requests=1), lambda: [])
        running = 0
        most = 0

        async def handler() -> web.StreamResponse:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1
            return _ok()

        responses = await asyncio.gather(*(throttle.admit(handler) for _ in range(4)))
        return most, [response.status for response in responses]

    assert asyncio.run(scenario()) == (1, [200, 200, 200, 200])


def test_under_high_load_every_request_is_too_busy_until_the_next_check() -> None:
    now = [100.0]
    load: list[str] = ["workerQueueDelay (1.5 s)"]
    checks = []

    def high_load() -> list[str]:
        checks.append(now[0])
        return list(load)

    async def admit(throttle: HttpThrottle) -> int:
        async def handler() -> web.StreamResponse:
            return _ok()

        return (await throttle.admit(handler)).status

    settings = ThrottleSettings(dynamic_throttles_enabled=True)
    throttle = HttpThrottle(settings, high_load, interval=1.0, clock=lambda: now[0])
    assert asyncio.run(admit(throttle)) == 429
    load.clear()
    now[0] += 0.5
    assert asyncio.run(admit(throttle)) == 429, "the verdict holds until the next check"
    now[0] += 0.6
    assert asyncio.run(admit(throttle)) == 200
    assert checks == [100.0, 101.1]


def test_the_load_monitor_names_the_counters_over_a_second() -> None:
    delay = [0.2]
    monitor = LoadMonitor(lambda: delay[0])
    assert monitor.exceeded() == []
    delay[0] = 1.4
    assert monitor.exceeded() == ["workerQueueDelay (1.4 s)"]


def _get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers)


def _post(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[DevHostProcess]:
    log = tmp_path / "devhost.log"
    extra = ["--worker-processes", "1"]
    one_thread = {"PYTHON_THREADPOOL_THREAD_COUNT": "1"}  # one invocation at a time
    with DevHostProcess(
        APP, None, "ThrottleHub", log_path=log, extra_args=extra, env=one_thread
    ) as host:
        yield host


def test_work_waiting_for_a_worker_turns_requests_away_until_it_drains(
    one_worker: DevHostProcess,
) -> None:
    """One worker process, held by a 2.5 s activity: the second orchestration's first episode
    waits for it, and once it has waited over a second every request but /admin and the
    durable client's RPC gets 429; when the worker is free again requests are served."""
    base = one_worker.base_url
    started = [_post(f"{base}/api/start") for _ in range(2)]
    assert [status for status, _ in started] == [202, 202]
    status = eventually(
        lambda: _unless(200, f"{base}/api/ping"), timeout=5, what="the host reporting high load"
    )
    assert status[0] == 429 and status[1].get(SCALE_OUT_HEADER) == "1"
    webhook = f"{base}/runtime/webhooks/durabletask/instances/{started[0][1]}"
    rpc = f"{base}/durabletask/instances/{started[0][1]}"
    assert _get(webhook)[0] == 429
    assert _get(rpc)[0] == 202, "running: the RPC status query answers, not the throttle"
    assert _get(f"{base}/admin/host/status")[0] == 200
    status = eventually(
        lambda: _unless(429, f"{base}/api/ping"), timeout=10, what="the host accepting again"
    )
    assert status[0] == 200
    for _, instance_id in started:
        url = f"{base}/durabletask/instances/{instance_id}"
        done = functools.partial(_has_status, url, "Completed")
        eventually(done, timeout=10, what=f"{url} ending")


def _has_status(url: str, runtime_status: str) -> bool:
    return _runtime_status(url) == runtime_status


def _unless(status: int, url: str) -> tuple[int, dict[str, str]] | None:
    """The GET's status and headers, or None while it answers ``status``."""
    answer = _get(url)
    return None if answer[0] == status else answer


def _runtime_status(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(json.loads(response.read())["runtimeStatus"])
