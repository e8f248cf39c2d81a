"""wait_for fails fast, with the instance's status and the reason, when what it waits for can no
longer happen: the instance ended in another status, or its give_up check says so."""

import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devhost.clock import WallClock
from devhost.instance import COMPLETED, FAILED, RUNNING, SUSPENDED, TERMINATED, InstanceState
from devhost.testing import DevHost, WaitAbandoned, when_custom_status
from tests.devhost.conftest import APPS

APP_FILE = str(Path(__file__).parent / "apps" / "basics" / "function_app.py")
TIMEOUT = 30
FAST = 5  # well under TIMEOUT: the wait stopped at once, it did not sleep until the timeout

needs_attention = when_custom_status("status", "NeedsAttention")


def app_module():
    return next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == APP_FILE)


def abandoned(host: DevHost, instance_id: str, *statuses: str, **wait) -> WaitAbandoned:
    """The WaitAbandoned a wait raises, checked to come well before the timeout."""
    started = time.monotonic()
    with pytest.raises(WaitAbandoned) as raised:
        host.wait_for(instance_id, *statuses, timeout=TIMEOUT, **wait)
    assert time.monotonic() - started < FAST
    return raised.value


@pytest.fixture
def wall_host() -> Iterator[DevHost]:
    with DevHost(APPS / "basics", clock=WallClock()) as running:
        yield running


class TestGiveUp:
    def test_a_parked_instance_stops_the_wait_at_once(self, host: DevHost) -> None:
        """NeedsAttention, no timer left, nothing running: the wait stops with the reason, the
        runtime status and the custom status (what the operator must fix)."""
        instance_id = host.start("parks")
        error = abandoned(host, instance_id, COMPLETED, give_up=needs_attention)
        assert isinstance(error, AssertionError)
        assert error.state.runtime_status == RUNNING
        assert error.reason == 'its custom status has status = "NeedsAttention"'
        message = str(error)
        assert f"waiting for instance {instance_id!r} to be Completed" in message
        assert 'gave up: its custom status has status = "NeedsAttention"' in message
        assert "runtime status: Running" in message
        assert '"code": "CardDeclined"' in message
        assert '"message": "insufficient funds"' in message

    def test_a_lambda_reason_is_reported(self, host: DevHost) -> None:
        """give_up is any function of the state returning a reason (or None to go on)."""
        instance_id = host.start("reporter")

        def halfway(state: InstanceState) -> str | None:
            return "stuck halfway" if "halfway" in (state.custom_status or "") else None

        error = abandoned(host, instance_id, give_up=halfway)
        assert error.reason == "stuck halfway"
        assert "gave up: stuck halfway" in str(error)
        assert '{"stage": "halfway"}' in str(error)

    def test_an_event_raised_before_the_wait_is_not_taken_for_stuck(self, host: DevHost) -> None:
        """The operator's event is in flight when the wait starts: the host is busy, so give_up
        is not asked before the instance has moved on."""
        instance_id = host.start("parks")
        host.wait_idle()
        host.raise_event(instance_id, "RetryCompensation", "retried")
        state = host.wait_for(instance_id, COMPLETED, give_up=needs_attention)
        assert state.runtime_status == COMPLETED
        assert host.output(instance_id) == "retried"

    def test_give_up_is_not_asked_while_an_activity_runs(self, host: DevHost) -> None:
        """An activity the test holds back keeps the host busy: give_up is never asked, and the
        instance completes once the activity is released from another thread."""
        module = app_module()
        module.gate.clear()
        module.blocked_started.clear()
        asked: list[str] = []

        def give_up(state: InstanceState) -> str:
            asked.append(state.runtime_status)
            return "asked while busy"

        instance_id = host.start("call_one", {"activity": "blocked", "key": "held"})
        assert module.blocked_started.wait(timeout=10)
        release = threading.Timer(0.3, module.gate.set)
        release.start()
        try:
            state = host.wait_for(instance_id, give_up=give_up)
        finally:
            release.join()
        assert state.runtime_status == COMPLETED
        assert asked == []

    def test_with_skip_time_a_due_timer_is_fired_before_giving_up(self, host: DevHost) -> None:
        """The instance waits on a 24 h timer: virtual time jumps to it first, the instance
        completes, and give_up (which would stop any wait) is never asked."""
        instance_id = host.start("approval")
        state = host.wait_for(instance_id, COMPLETED, give_up=lambda state: "asked")
        assert state.runtime_status == COMPLETED
        assert host.output(instance_id) == "timed out"

    def test_a_timer_function_is_no_timer_to_wait_for(self, host: DevHost) -> None:
        """The app's hourly timer function recurs forever: a parked instance still stops the
        wait at once, and the jump to the 24 h durable timer fires the hourly function on the
        way (its occurrences within one jump overlap the first run, so they are skipped, as
        the host's singleton lock skips them)."""
        ticks = app_module().hourly_ticks
        ticks.clear()
        parked = host.start("parks")
        abandoned(host, parked, COMPLETED, give_up=needs_attention)
        assert ticks == []  # no jump: only a durable timer moves an instance on
        waiting = host.start("approval")
        assert host.wait_for(waiting, COMPLETED).runtime_status == COMPLETED
        assert ticks == ["tick"]

    def test_without_skip_time_give_up_is_asked_once_the_host_is_idle(self, host: DevHost) -> None:
        """skip_time=False: a pending timer does not move without advance(), so idle is idle."""
        instance_id = host.start("approval")
        error = abandoned(host, instance_id, skip_time=False, give_up=lambda state: "no answer")
        assert error.state.runtime_status == RUNNING

    def test_on_the_wall_clock_give_up_is_asked_when_the_host_is_idle(
        self, wall_host: DevHost
    ) -> None:
        instance_id = wall_host.start("parks")
        error = abandoned(wall_host, instance_id, COMPLETED, give_up=needs_attention)
        assert "NeedsAttention" in str(error)

    def test_when_custom_status_matches_only_its_values(self) -> None:
        now = datetime(2030, 1, 1, tzinfo=UTC)
        state = InstanceState("i", "o", None, created_time=now, last_updated_time=now)
        check = when_custom_status("status", "NeedsAttention", "Cancelled")
        assert check(state) is None
        state.custom_status = '"NeedsAttention"'  # not an object
        assert check(state) is None
        state.custom_status = '{"status": "Running"}'
        assert check(state) is None
        state.custom_status = '{"status": "Cancelled"}'
        assert check(state) == 'its custom status has status = "Cancelled"'
        with pytest.raises(ValueError):
            when_custom_status("status")


class TestUnexpectedEnd:
    def test_a_failed_instance_waited_for_as_completed_stops_at_once(self, host: DevHost) -> None:
        instance_id = host.start("explodes", "kaboom")
        error = abandoned(host, instance_id, COMPLETED)
        assert error.state.runtime_status == FAILED
        assert error.reason == "it ended Failed"
        message = str(error)
        assert "runtime status: Failed" in message
        assert "Orchestrator function 'explodes' failed: kaboom" in message

    def test_a_terminated_instance_stops_the_wait(self, host: DevHost) -> None:
        instance_id = host.start("two_events")
        host.wait_for(instance_id, RUNNING)
        host.terminate(instance_id, "operator gave up")
        error = abandoned(host, instance_id, COMPLETED, SUSPENDED)
        assert "to be Completed or Suspended: gave up: it ended Terminated" in str(error)
        assert "operator gave up" in str(error)
        assert error.state.runtime_status == TERMINATED

    def test_waiting_for_running_after_the_end_stops_at_once(self, host: DevHost) -> None:
        instance_id = host.start("sequence", ["x"])
        host.wait_for(instance_id)
        error = abandoned(host, instance_id, RUNNING)
        assert error.reason == "it ended Completed"
        assert '["Hello x"]' in str(error)

    def test_without_statuses_any_final_status_is_returned(self, host: DevHost) -> None:
        """Unchanged: a wait for no particular status returns a Failed instance."""
        instance_id = host.start("explodes", "kaboom")
        assert host.wait_for(instance_id).runtime_status == FAILED
        assert host.wait_for(instance_id, COMPLETED, FAILED).runtime_status == FAILED


class TestWithoutGiveUp:
    def test_normal_waits_are_unchanged(self, host: DevHost) -> None:
        instance_id = host.start("two_events")
        assert host.wait_for(instance_id, RUNNING).runtime_status == RUNNING
        host.raise_event(instance_id, "First", 1)
        host.raise_event(instance_id, "Second", 2)
        assert host.wait_for(instance_id, COMPLETED).runtime_status == COMPLETED
        assert host.output(instance_id) == [1, 2]

    def test_an_idle_instance_is_waited_for_until_another_thread_acts(self, host: DevHost) -> None:
        """Idle with no timer left is not taken for stuck without give_up: a helper thread
        may still raise the events the instance waits for."""
        instance_id = host.start("two_events")

        def answer() -> None:
            time.sleep(0.3)
            host.raise_event(instance_id, "First", 1)
            host.raise_event(instance_id, "Second", 2)

        helper = threading.Thread(target=answer)
        helper.start()
        try:
            state = host.wait_for(instance_id, COMPLETED)
        finally:
            helper.join()
        assert state.runtime_status == COMPLETED
        assert host.output(instance_id) == [1, 2]

    def test_a_timeout_says_what_the_instance_is_doing(self, host: DevHost) -> None:
        """The TimeoutError names the runtime and custom status and that the host sat idle."""
        instance_id = host.start("parks")
        with pytest.raises(TimeoutError) as raised:
            host.wait_for(instance_id, COMPLETED, timeout=0.5)
        assert not isinstance(raised.value, WaitAbandoned)
        message = str(raised.value)
        assert f"waiting for instance {instance_id!r} to be Completed: not reached" in message
        assert "sat idle" in message and "give_up=" in message
        assert "runtime status: Running" in message
        assert "CardDeclined" in message

    def test_a_timeout_for_an_unknown_instance_says_so(self, host: DevHost) -> None:
        with pytest.raises(TimeoutError, match="no instance has this id"):
            host.wait_for("nobody", timeout=0.2)
