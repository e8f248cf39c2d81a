"""Waits longer than the storage provider's longest durable timer (Azure Storage: 6 days).

The extension tells the SDK to split such a timer (maximumShortTimerDuration 6 days,
longRunningTimerIntervalDuration 3 days), and the SDK's LongTimerTask (azure-functions-durable
1.7.0) gets it wrong: cancelling it never cancels the leg in flight, and each later leg is a
top-level action, which the extension's shim awaits before it issues any action after it. An
approval answered (or a step finishing, or a Cancel arriving during a backoff) after the first
leg fired then held the saga until the timer's full length had passed. The engine therefore arms
its own legs of at most 6 days (shared/saga/timers.py); these tests pin that, through devhost
(the real SDK replay, the shim's one-action-at-a-time replay, virtual time).

The fixture app's `patient` saga: reserve (timeout 10 days); optional approval (30 days);
charge (2 attempts, 8 days apart); ship (pivot).
"""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType

from devhost.history import EventType
from devhost.instance import COMPLETED
from devhost.testing import DevHost
from tests.polling import eventually
from tests.unit.saga_host import (
    clock,
    events,
    move_clock,
    parse_time,
    scheduled,
    step,
)

DAY = 86400
LONGEST_TIMER = timedelta(days=6)  # AzureStorageDurabilityProvider.MaximumDelayTime


def assert_every_timer_is_short(host: DevHost, instance_id: str) -> None:
    for created in events(host, instance_id, EventType.TIMER_CREATED):
        length = parse_time(created["FireAt"]) - parse_time(created["Timestamp"])
        assert length <= LONGEST_TIMER, created


def assert_completed_without_waiting(host: DevHost, instance_id: str) -> None:
    """Nothing left to wait for: the saga ended, and no timer of it is still pending."""
    host.wait_idle()
    assert host.state(instance_id).runtime_status == COMPLETED, host.custom_status(instance_id)
    assert clock(host).next_due() is None


class TestLongApproval:
    def test_an_answer_after_the_first_leg_lets_the_saga_continue_at_once(
        self, host: DevHost
    ) -> None:
        instance_id = host.start("patient", {"approval": True})
        host.wait_idle()
        host.advance(7 * DAY)  # past the first leg (ours at 6 days; the SDK's at 3 and 6)
        assert events(host, instance_id, EventType.TIMER_FIRED)
        assert step(host, instance_id, "approval")["status"] == "Running"
        host.raise_event(instance_id, "Approval", {"approved": True})
        assert_completed_without_waiting(host, instance_id)
        assert host.output(instance_id)["status"] == "Completed"
        assert scheduled(host, instance_id) == ["reserve", "charge", "ship"]
        assert_every_timer_is_short(host, instance_id)

    def test_no_decision_times_out_exactly_at_the_deadline(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        started = clock(host).now()
        instance_id = host.start("patient", {"approval": True})
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["failure"] == {
            "step": "approval",
            "code": "ApprovalTimedOut",
            "message": f"no decision within {30 * DAY:g} s",
        }
        fired = events(host, instance_id, EventType.TIMER_FIRED)
        assert len(fired) > 1  # in legs
        assert parse_time(fired[-1]["FireAt"]) == started + timedelta(days=30)
        assert_every_timer_is_short(host, instance_id)
        assert scheduled(host, instance_id) == ["reserve", "release_stock"]


class TestLongStepTimeout:
    def test_a_step_done_after_the_first_leg_of_its_timeout_lets_the_saga_continue(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        instance_id = host.start("patient", {"fail": {"reserve": "slow"}})
        assert fakes.slow_started.wait(10)
        move_clock(host, 7 * DAY)  # the first leg of reserve's 10-day timeout fires
        eventually(
            lambda: events(host, instance_id, EventType.TIMER_FIRED),
            timeout=10,
            what="the timer firing",
            every=0.01,
        )
        fakes.release.set()
        assert_completed_without_waiting(host, instance_id)
        assert host.output(instance_id)["status"] == "Completed"
        assert scheduled(host, instance_id) == ["reserve", "charge", "ship"]
        assert_every_timer_is_short(host, instance_id)

    def test_a_step_outliving_its_timeout_times_out_even_if_a_leg_fires_late(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """The clock jumps past the whole timeout at once: the first leg fires after the
        deadline, which has then passed; no further leg is armed."""
        instance_id = host.start("patient", {"fail": {"reserve": "slow"}})
        assert fakes.slow_started.wait(10)
        move_clock(host, 11 * DAY)
        eventually(
            lambda: step(host, instance_id, "reserve")["status"] != "Running",
            timeout=10,
            what="reserve settling",
            every=0.01,
        )
        fakes.release.set()
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["failure"]["code"] == "StepTimedOut"
        [fired] = events(host, instance_id, EventType.TIMER_FIRED)
        first_leg = events(host, instance_id, EventType.TIMER_CREATED)[0]
        assert fired["TimerId"] == first_leg["EventId"]
        [undo] = [
            e for e in events(host, instance_id, EventType.TASK_SCHEDULED) if e["Name"] != "reserve"
        ]
        assert (undo["Name"], undo["Timestamp"]) == ("release_stock", fired["Timestamp"])


class TestLongBackoff:
    def test_a_cancel_after_the_first_leg_of_a_backoff_compensates_at_once(
        self, host: DevHost
    ) -> None:
        instance_id = host.start("patient", {"fail": {"charge": "fault:1"}})
        host.wait_idle()
        host.advance(7 * DAY)  # the first leg of the 8-day backoff fires
        assert events(host, instance_id, EventType.TIMER_FIRED)
        assert step(host, instance_id, "charge")["attempts"] == 1
        host.raise_event(instance_id, "Cancel")
        assert_completed_without_waiting(host, instance_id)
        assert host.output(instance_id)["status"] == "Cancelled"
        assert scheduled(host, instance_id) == ["reserve", "charge", "refund", "release_stock"]

    def test_the_retry_waits_the_whole_backoff(self, host: DevHost) -> None:
        started = clock(host).now()
        instance_id = host.start("patient", {"fail": {"charge": "fault:1"}})
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["status"] == "Completed"
        charges = [e for e in events(host, instance_id, EventType.TASK_SCHEDULED)]
        charges = [e for e in charges if e["Name"] == "charge"]
        assert len(charges) == 2
        assert parse_time(charges[1]["Timestamp"]) == started + timedelta(days=8)
        assert_every_timer_is_short(host, instance_id)
