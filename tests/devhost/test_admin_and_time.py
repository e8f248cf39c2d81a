"""devhost's end-to-end test hooks: faults injected over HTTP, scaled time, hub override."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from devhost.clock import ScaledClock
from devhost.host import load, parse_args
from devhost.testing import DevHost
from tests.devhost.conftest import APPS, Http


def test_a_scaled_clock_runs_faster_and_fires_timers_early() -> None:
    """At scale 100 a 5-second timer fires after about 50 ms of real time."""

    async def measure() -> tuple[float, timedelta]:
        clock = ScaledClock(100)
        fired = asyncio.Event()
        began_real, began = time.monotonic(), clock.now()
        clock.call_at(began + timedelta(seconds=5), fired.set)
        await asyncio.wait_for(fired.wait(), 5)
        return time.monotonic() - began_real, clock.now() - began

    real, durable = asyncio.run(measure())
    assert real < 1.0
    assert durable >= timedelta(seconds=5)


def test_the_command_line_can_name_the_hub_and_scale_time() -> None:
    args = parse_args(["--app", str(APPS / "basics"), "--hub", "E2EHub", "--time-scale", "60"])
    _, config = load(args)
    assert config.hub_name == "E2EHub"
    assert args.time_scale == 60


class TestFaultsOverHttp:
    def test_an_injected_failure_makes_the_activity_fail_until_cleared(self) -> None:
        """POST /admin/faults {"fault": "fail"} fails the activity (retries see the fault);
        DELETE clears it and the next attempt succeeds."""
        with DevHost(APPS / "basics") as host:
            http = Http(host.serve_http())
            added = http(
                "POST",
                "/admin/faults",
                json_body={"fault": "fail", "activity": "flaky", "times": 2},
            )
            assert added.status == 201
            instance_id = host.start("with_retry", "fail0:x")
            host.wait_for(instance_id)
            value = host.output(instance_id)[1]
            assert value == "fail0:x ok after 1"  # two injected failures, then one real run
            failed = [e for e in host.state(instance_id).history if e["EventType"] == 6]
            assert [e["Reason"] for e in failed] == [
                "Activity function 'flaky' failed:  InjectedFault: devhost fault"
            ] * 2
            assert http("DELETE", "/admin/faults").status == 204

    def test_a_malformed_fault_is_400(self) -> None:
        with DevHost(APPS / "basics") as host:
            http = Http(host.serve_http())
            assert http("POST", "/admin/faults", json_body={"fault": "explode"}).status == 400
            assert http("POST", "/admin/faults", body="{", headers={}).status == 400
            bad_times = {"fault": "fail", "times": 0}
            assert http("POST", "/admin/faults", json_body=bad_times).status == 400
