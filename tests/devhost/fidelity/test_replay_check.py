"""devhost's replay check: every episode runs twice in different worlds and the runs must agree.

This goes beyond Azure, which notices non-determinism only when a later replay contradicts the
history (DurableTask.Core TaskOrchestrationContext's NonDeterministicOrchestrationException):
here clock, random and uuid use in orchestrator code fails on its first local run.
"""

import random
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.instance import COMPLETED, FAILED
from devhost.process import DevHostProcess
from devhost.testing import DevHost

APP = Path(__file__).parents[1] / "apps" / "fidelity_replay"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHost]:
    with DevHost(APP) as running:
        yield running


@pytest.mark.parametrize(
    ("orchestrator", "named"),
    [
        ("clock_in_input", "CallActivity('echo'"),
        ("clock_through_module", "CallActivity('echo'"),
        ("time_time_in_input", "CallActivity('echo'"),
        ("uuid_in_input", "CallActivity('echo'"),
        ("clock_in_status", "custom status"),
    ],
)
def test_clock_random_and_uuid_in_orchestrator_code_fail_the_instance(
    host: DevHost, orchestrator: str, named: str
) -> None:
    """An orchestrator that reads the wall clock, random numbers or uuid4 fails on its first
    run, with a message naming what differed and what to use instead."""
    state = host.wait_for(host.start(orchestrator))
    assert state.runtime_status == FAILED
    assert "Non-deterministic orchestrator code (devhost replay check)" in state.output
    assert named in state.output
    assert "context.current_utc_datetime" in state.output


def test_a_random_branch_fails_when_the_two_worlds_choose_differently(host: DevHost) -> None:
    """random() choosing between two activities: the second run draws from its own seed, so
    whenever the two runs choose differently the instance fails, naming the first action that
    differed. (A coin flip is caught in half the episodes that make one; a saga makes many.)"""
    random.seed(0)  # this world draws 0.84 ("stamp"); the other world draws 0.14 ("echo")
    state = host.wait_for(host.start("random_branch"))
    assert state.runtime_status == FAILED
    assert "scheduled action #0 differently: first CallActivity('stamp'" in state.output
    assert "then CallActivity('echo'" in state.output


def test_deterministic_orchestrators_pass_and_activities_may_read_the_clock(
    host: DevHost,
) -> None:
    """context.current_utc_datetime and context.new_uuid() are the same in both runs; an
    activity's result is recorded once, so its clock reading is no problem."""
    state = host.wait_for(host.start("deterministic"))
    assert state.runtime_status == COMPLETED, state.output
    assert state.output is not None and state.output.startswith("[true,")


def test_the_check_can_be_turned_off() -> None:
    """DevHost(replay_check=False) runs each episode once, as the real host does."""
    with DevHost(APP, replay_check=False) as host:
        state = host.wait_for(host.start("clock_in_input"))
    assert state.runtime_status == COMPLETED


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker process"])
def test_python_m_devhost_replay_check_flag(tmp_path: Path, workers: int) -> None:
    """`python -m devhost --replay-check` checks every episode, in devhost's process and in
    worker processes alike."""
    extra = ["--replay-check", "--worker-processes", str(workers)]
    with DevHostProcess(APP, None, "ReplayCheck", extra_args=extra) as running:
        base = running.base_url
        started = requests.post(f"{base}/runtime/webhooks/durabletask/orchestrators/clock_in_input")
        status_url = started.json()["statusQueryGetUri"]
        status = poll_until_done(status_url)
    assert status["runtimeStatus"] == "Failed"
    assert "Non-deterministic orchestrator code (devhost replay check)" in status["output"]


def poll_until_done(url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status: dict[str, Any] = requests.get(url, timeout=5).json()
        if status["runtimeStatus"] not in ("Pending", "Running"):
            return status
        time.sleep(0.05)
    raise AssertionError("the instance did not finish")


def test_user_code_still_makes_real_datetimes(host: DevHost) -> None:
    """The check's stand-ins for ``datetime`` in user modules (this one included, once a checked
    episode has run) shift only the checking thread's clock and make real ``datetime`` objects."""
    host.wait_for(host.start("deterministic"))
    made = datetime(2000, 1, 1)
    assert type(made) is type(made.replace(year=2001))
    assert repr(made) == "datetime.datetime(2000, 1, 1, 0, 0)"
    assert isinstance(made, datetime)
