"""run_saga and run_saga_code, driven through devhost: the real SDK replay, fake activities and
virtual time. Every test runs both styles over the same definitions and expects the same.

The fixture app (apps/saga) runs the `shop` saga: reserve; group parts = pick_a + pick_b;
optional approval gate; charge (timeout 30 s); ship (pivot); confirm (retriable). Each fake
activity follows the saga input's `fail` map and journals what it did.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from devhost.history import EventType
from devhost.instance import COMPLETED, FAILED, RUNNING
from devhost.testing import DevHost, WaitAbandoned, when_custom_status
from tests.polling import eventually
from tests.unit.saga_host import (
    clock,
    events,
    journal,
    move_clock,
    parse_time,
    scheduled,
    step,
)

COMPENSATIONS = {"release_stock", "unpick_a", "unpick_b", "refund"}


# ---------------------------------------------------------------------- reading the evidence


def compensations_run(fakes: ModuleType, instance_id: str) -> list[str]:
    return [name for name, done in journal(fakes, instance_id) if name in COMPENSATIONS]


def episode_of_each(host: DevHost, instance_id: str) -> dict[str, set[int]]:
    """For each activity name, the episodes (counted from 0) in which it was scheduled."""
    found: dict[str, set[int]] = {}
    episode = -1
    for event in host.state(instance_id).history:
        if event["EventType"] == EventType.ORCHESTRATOR_STARTED:
            episode += 1
        elif event["EventType"] == EventType.TASK_SCHEDULED:
            found.setdefault(event["Name"], set()).add(episode)
    return found


def step_states(host: DevHost, instance_id: str) -> dict[str, str]:
    return {step["name"]: step["status"] for step in host.custom_status(instance_id)["steps"]}


def in_batches(names: list[str]) -> list[set[str]]:
    """Group consecutive names the way UNDO_AFTER lists them (the two unpicks together)."""
    batches: list[set[str]] = []
    for name in names:
        if name.startswith("unpick") and batches and next(iter(batches[-1])).startswith("unpick"):
            batches[-1].add(name)
        else:
            batches.append({name})
    return batches


def run_to_end(host: DevHost, saga_input: dict[str, Any], saga: str = "shop") -> str:
    instance_id = host.start(saga, saga_input)
    parked = when_custom_status("status", "NeedsAttention")
    assert host.wait_for(instance_id, give_up=parked).runtime_status == COMPLETED
    return instance_id


# ---------------------------------------------------------------------- the tests


class TestSuccess:
    def test_a_saga_without_failures_completes_every_step_in_order(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """Every action runs once, in order; no compensation; no timer is left behind."""
        instance_id = run_to_end(host, {})
        output = host.output(instance_id)
        assert output["status"] == "Completed"
        assert output["failure"] is None
        every = ("reserve", "pick_a", "pick_b", "charge", "ship", "confirm")
        assert output["results"] == {name: {"by": name} for name in every}
        assert step_states(host, instance_id) == {
            "reserve": "Succeeded",
            "pick_a": "Succeeded",
            "pick_b": "Succeeded",
            "approval": "Skipped",
            "charge": "Succeeded",
            "ship": "Succeeded",
            "confirm": "Succeeded",
        }
        names = [name for name, _ in journal(fakes, instance_id)]
        assert names[:1] + sorted(names[1:3]) + names[3:] == [
            "reserve", "pick_a", "pick_b", "charge", "ship", "confirm",
        ]  # fmt: skip
        assert clock(host).next_due() is None

    def test_group_members_are_scheduled_in_one_episode(self, host: DevHost) -> None:
        """The members of a parallel group are scheduled together, not one after another."""
        instance_id = run_to_end(host, {})
        episodes = episode_of_each(host, instance_id)
        assert episodes["pick_a"] == episodes["pick_b"]
        assert episodes["reserve"] != episodes["pick_a"] != episodes["charge"]

    def test_every_invocation_carries_its_idempotency_key(self, host: DevHost) -> None:
        """`{"key": "{instance}:{step}", "input"}`, identical for every retry; a compensation
        gets `{instance}:{step}:compensate` and the key of the action it undoes. Each attempt
        is stamped with the orchestration time it was issued at (a retry after its backoff)."""
        saga_input = {"fail": {"reserve": "fault:2", "charge": "business"}}
        instance_id = run_to_end(host, saga_input)
        calls: dict[str, list[dict[str, Any]]] = {}
        for event in events(host, instance_id, EventType.TASK_SCHEDULED):
            calls.setdefault(event["Name"], []).append(json.loads(event["Input"]))
        issued = [datetime.fromisoformat(call.pop("issuedAt")) for call in calls["reserve"]]
        assert issued == sorted(issued) and issued[0] < issued[-1]
        assert [call.pop("attempt") for call in calls["reserve"]] == [1, 2, 3]
        assert calls["reserve"] == [{"key": f"{instance_id}:reserve", "input": saga_input}] * 3
        [undo] = calls["release_stock"]
        assert datetime.fromisoformat(undo.pop("issuedAt")) >= issued[-1]
        assert undo.pop("attempt") == 1
        assert undo == {
            "key": f"{instance_id}:reserve:compensate",
            "actionKey": f"{instance_id}:reserve",
            "input": saga_input,
        }

    def test_a_step_input_can_use_earlier_results(self, host: DevHost) -> None:
        """Step.input(saga_input, results) sees the values of the steps before it."""
        instance_id = run_to_end(host, {"x": 1}, saga="trio")
        second = [
            e for e in events(host, instance_id, EventType.TASK_SCHEDULED) if e["Name"] == "charge"
        ]
        assert json.loads(second[0]["Input"])["input"] == {"x": 1, "after": {"by": "reserve"}}

    def test_an_input_builder_may_take_the_orchestrations_time(self, host: DevHost) -> None:
        """A builder of three parameters gets the orchestration's current time: the episode's
        start, the same on every replay (the replay check runs each episode twice)."""
        instance_id = run_to_end(host, {}, saga="stamped")
        history = host.state(instance_id).history
        started = next(e for e in history if e["EventType"] == EventType.ORCHESTRATOR_STARTED)
        [call] = events(host, instance_id, EventType.TASK_SCHEDULED)
        stamped = datetime.fromisoformat(json.loads(call["Input"])["input"]["at"])
        assert stamped == parse_time(started["Timestamp"])

    def test_the_summary_says_what_the_steps_so_far_returned(self, host: DevHost) -> None:
        """Published after every step (so the last one has them all); None without a summary."""
        instance_id = run_to_end(host, {"x": 1}, saga="trio")
        assert host.output(instance_id)["summary"] == {"done": ["first", "second", "third"]}
        assert host.custom_status(instance_id)["summary"] == {"done": ["first", "second", "third"]}
        assert host.output(run_to_end(host, {}, saga="shop"))["summary"] is None


# What each failing step leaves to undo: batches that run in this order (a batch in parallel).
UNDO_AFTER = {
    "reserve": [{"release_stock"}],
    "pick_a": [{"unpick_a", "unpick_b"}, {"release_stock"}],
    "pick_b": [{"unpick_a", "unpick_b"}, {"release_stock"}],
    "charge": [{"refund"}, {"unpick_a", "unpick_b"}, {"release_stock"}],
    "ship": [{"refund"}, {"unpick_a", "unpick_b"}, {"release_stock"}],
}


class TestCompensation:
    @pytest.mark.parametrize("failing", list(UNDO_AFTER))
    def test_a_business_failure_compensates_exactly_the_scheduled_steps_in_reverse(
        self, host: DevHost, fakes: ModuleType, failing: str
    ) -> None:
        """The failing step (its action refused) and every step before it are compensated,
        newest first, group members together; nothing after it is run or compensated."""
        instance_id = run_to_end(host, {"fail": {failing: "business:Nope"}})
        output = host.output(instance_id)
        assert output["status"] == "Compensated"
        assert output["failure"] == {
            "step": failing,
            "code": "Nope",
            "message": f"{failing} refused",
        }
        batches = UNDO_AFTER[failing]
        assert in_batches(compensations_run(fakes, instance_id)) == batches
        episodes = episode_of_each(host, instance_id)
        assert episodes.get("unpick_a") == episodes.get("unpick_b")
        states = step_states(host, instance_id)
        undone = {undo for batch in batches for undo in batch}
        for name, undo in [
            ("reserve", "release_stock"),
            ("pick_a", "unpick_a"),
            ("pick_b", "unpick_b"),
            ("charge", "refund"),
        ]:
            assert (states[name] == "Compensated") == (undo in undone), name
        assert states["confirm"] == "Skipped"
        assert "confirm" not in scheduled(host, instance_id)

    def test_a_failing_member_stops_its_siblings_retries_and_both_are_compensated(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """pick_b faults while pick_a refuses: pick_b is not retried, yet compensated, since
        its outcome is unknown; the failure names the member that refused."""
        instance_id = run_to_end(host, {"fail": {"pick_a": "business", "pick_b": "fault:1"}})
        output = host.output(instance_id)
        assert output["failure"]["step"] == "pick_a"
        assert step(host, instance_id, "pick_b")["attempts"] == 1
        assert scheduled(host, instance_id).count("pick_b") == 1
        assert set(compensations_run(fakes, instance_id)[:2]) == {"unpick_a", "unpick_b"}
        assert clock(host).next_due() is None

    def test_an_activity_code_named_cancelled_is_still_a_business_failure(
        self, host: DevHost
    ) -> None:
        """Only the Cancel event ends a saga Cancelled; codes are never interpreted."""
        instance_id = run_to_end(host, {"fail": {"charge": "business:Cancelled"}})
        assert host.output(instance_id)["status"] == "Compensated"

    def test_a_bug_in_a_step_input_fails_the_instance(self, host: DevHost) -> None:
        """Not a saga failure: the exception propagates and the instance is Failed."""
        instance_id = host.start("broken", {})
        state = host.wait_for(instance_id)
        assert state.runtime_status == FAILED
        assert host.output(instance_id) == "Orchestrator function 'broken' failed: 'nope'"
        assert scheduled(host, instance_id) == []

    def test_a_malformed_result_fails_the_step(self, host: DevHost) -> None:
        instance_id = run_to_end(host, {"fail": {"pick_b": "malformed"}})
        failure = host.output(instance_id)["failure"]
        assert (failure["step"], failure["code"]) == ("pick_b", "MalformedResult")

    def test_each_compensation_runs_once_however_many_episodes_replay(self, host: DevHost) -> None:
        """Retries make many episodes; compensation is scheduled once, only after the failure."""
        instance_id = run_to_end(host, {"fail": {"reserve": "fault:2", "charge": "business"}})
        names = scheduled(host, instance_id)
        assert len(events(host, instance_id, EventType.ORCHESTRATOR_STARTED)) >= 6
        assert [name for name in names if name in COMPENSATIONS][-1] == "release_stock"
        assert all(names.count(undo) == 1 for undo in COMPENSATIONS)


class TestRetries:
    def test_faults_are_retried_with_exponential_backoff_on_durable_timers(
        self, host: DevHost
    ) -> None:
        """reserve: 4 attempts, first interval 5 s, coefficient 3, capped at 30 s."""
        instance_id = run_to_end(host, {"fail": {"reserve": "fault:3"}})
        timers = events(host, instance_id, EventType.TIMER_CREATED)[:3]
        delays = [
            (parse_time(t["FireAt"]) - parse_time(t["Timestamp"])).total_seconds() for t in timers
        ]
        assert delays == [5, 15, 30]
        assert step(host, instance_id, "reserve")["attempts"] == 4
        assert host.output(instance_id)["status"] == "Completed"

    def test_the_retry_waits_for_its_timer(self, host: DevHost) -> None:
        """Nothing happens before the backoff has elapsed in (virtual) time."""
        instance_id = host.start("shop", {"fail": {"reserve": "fault:1"}})
        host.wait_idle()
        host.advance(4.9)
        assert scheduled(host, instance_id) == ["reserve"]
        host.advance(0.2)
        assert scheduled(host, instance_id)[:2] == ["reserve", "reserve"]
        assert host.wait_for(instance_id).runtime_status == COMPLETED

    def test_exhausted_retries_compensate_the_step(self, host: DevHost, fakes: ModuleType) -> None:
        """After the last attempt the step is compensated too (its outcome is unknown)."""
        instance_id = run_to_end(host, {"fail": {"reserve": "fault"}})
        failure = host.output(instance_id)["failure"]
        assert failure["code"] == "ActivityFault"
        assert failure["message"] == (
            "Activity function 'reserve' failed:  RuntimeError: reserve attempt 4 broke"
        )
        assert step(host, instance_id, "reserve")["attempts"] == 4
        assert journal(fakes, instance_id)[-1] == ("release_stock", "tombstone")

    def test_a_business_failure_is_not_retried(self, host: DevHost) -> None:
        instance_id = run_to_end(host, {"fail": {"charge": "business"}})
        assert scheduled(host, instance_id).count("charge") == 1
        assert step(host, instance_id, "charge")["attempts"] == 1


class TestTimeouts:
    def test_a_timed_out_step_is_compensated_and_its_late_result_ignored(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """charge outlives its 30 s timeout: TimedOut, refunded (a tombstone, as it had not
        applied); when it finishes later its result is delivered and ignored."""
        saga_input = {"fail": {"charge": "slow", "release_stock": "fault:1"}}
        instance_id = host.start("shop", saga_input)
        assert fakes.slow_started.wait(10)
        move_clock(host, 30)
        eventually(
            lambda: (
                (step(host, instance_id, "reserve")["lastError"] or {}).get("code")
                == "ActivityFault"
            ),
            timeout=10,
            what="reserve's release faulting",
            every=0.01,
        )
        assert step(host, instance_id, "charge")["status"] == "Compensated"
        fakes.release.set()
        host.wait_idle()
        assert host.state(instance_id).runtime_status == RUNNING  # waiting to retry release
        [charge] = [
            e for e in events(host, instance_id, EventType.TASK_SCHEDULED) if e["Name"] == "charge"
        ]
        late = [
            e
            for e in events(host, instance_id, EventType.TASK_COMPLETED)
            if e["TaskScheduledId"] == charge["EventId"]
        ]
        assert len(late) == 1  # delivered to the orchestrator, which ignored it
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        output = host.output(instance_id)
        assert output["status"] == "Compensated"
        assert output["failure"] == {
            "step": "charge",
            "code": "StepTimedOut",
            "message": "no result within 30 s",
        }
        assert "charge" not in output["results"]
        ran = journal(fakes, instance_id)[3:]
        assert ran[0] == ("refund", "tombstone")
        assert sorted(ran[1:3]) == [("unpick_a", "undone"), ("unpick_b", "undone")]
        assert ran[3:] == [
            ("release_stock", "fault"),
            ("charge", "ignored"),
            ("release_stock", "undone"),
        ]


class TestCancellation:
    def test_a_cancel_while_the_first_step_runs_compensates_what_was_scheduled(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """Cancel raised at once: the running step settles, nothing new starts, the step is
        compensated, and the saga ends Cancelled."""
        instance_id = host.start("shop", {"fail": {"reserve": "slow"}})
        host.raise_event(instance_id, "Cancel")
        assert fakes.slow_started.wait(10)
        eventually(
            lambda: events(host, instance_id, EventType.EVENT_RAISED),
            timeout=10,
            what="the event arriving",
            every=0.01,
        )
        fakes.release.set()
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        output = host.output(instance_id)
        assert output["status"] == "Cancelled"
        assert output["failure"] == {
            "step": "reserve",
            "code": "Cancelled",
            "message": "a Cancel request arrived",
        }
        assert journal(fakes, instance_id) == [("reserve", "ok"), ("release_stock", "undone")]
        assert scheduled(host, instance_id) == ["reserve", "release_stock"]

    def test_one_cancel_listener_is_raced_with_every_step_and_stops_a_backoff(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """Three steps raced the same Cancel task; it still fires during charge's backoff,
        whose timer is cancelled; charge (scheduled once) is compensated with the rest."""
        instance_id = host.start("shop", {"fail": {"charge": "fault:1"}})
        host.wait_idle()
        assert step(host, instance_id, "charge")["attempts"] == 1
        host.raise_event(instance_id, "Cancel")
        host.wait_idle()
        assert host.state(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["status"] == "Cancelled"
        assert host.output(instance_id)["failure"]["step"] == "charge"
        assert in_batches(compensations_run(fakes, instance_id)) == UNDO_AFTER["charge"]
        assert events(host, instance_id, EventType.TIMER_FIRED) == []
        assert clock(host).next_due() is None

    def test_a_cancel_while_awaiting_approval_compensates(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        instance_id = host.start("shop", {"approval": True})
        host.wait_idle()
        assert host.custom_status(instance_id)["status"] == "AwaitingApproval"
        host.raise_event(instance_id, "Cancel")
        host.wait_idle()
        assert host.output(instance_id)["status"] == "Cancelled"
        assert step(host, instance_id, "approval")["status"] == "Skipped"
        assert in_batches(compensations_run(fakes, instance_id)) == UNDO_AFTER["pick_a"]
        assert clock(host).next_due() is None

    def test_a_cancel_after_the_pivot_is_ignored(self, host: DevHost, fakes: ModuleType) -> None:
        """confirm is retrying when Cancel arrives: the saga still completes."""
        instance_id = host.start("shop", {"fail": {"confirm": "fault:1"}})
        host.wait_idle()
        assert step(host, instance_id, "confirm")["attempts"] == 1
        host.raise_event(instance_id, "Cancel")
        host.wait_idle()
        assert host.state(instance_id).runtime_status == RUNNING
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["status"] == "Completed"
        assert compensations_run(fakes, instance_id) == []


class TestApproval:
    def test_approval_lets_the_saga_continue(self, host: DevHost) -> None:
        instance_id = host.start("shop", {"approval": True})
        host.wait_idle()
        assert host.custom_status(instance_id)["status"] == "AwaitingApproval"
        assert step(host, instance_id, "approval")["status"] == "Running"
        assert "charge" not in scheduled(host, instance_id)
        host.raise_event(instance_id, "Approval", {"approved": True, "comment": "fine"})
        assert host.wait_for(instance_id, skip_time=False).runtime_status == COMPLETED
        output = host.output(instance_id)
        assert output["status"] == "Completed"
        assert output["results"]["approval"] == {"approved": True, "comment": "fine"}
        assert events(host, instance_id, EventType.TIMER_FIRED) == []

    def test_approval_data_sent_as_a_json_string_is_decoded(self, host: DevHost) -> None:
        """The real host may deliver event data still JSON-encoded (SDK issue #295)."""
        instance_id = host.start("shop", {"approval": True})
        host.wait_idle()
        host.raise_event(instance_id, "Approval", json.dumps({"approved": True}))
        host.wait_for(instance_id, skip_time=False)
        assert host.output(instance_id)["status"] == "Completed"

    def test_rejection_compensates_with_the_comment_as_message(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        instance_id = host.start("shop", {"approval": True})
        host.wait_idle()
        host.raise_event(instance_id, "Approval", {"approved": False, "comment": "too dear"})
        host.wait_for(instance_id, skip_time=False)
        output = host.output(instance_id)
        assert output["status"] == "Compensated"
        assert output["failure"] == {
            "step": "approval",
            "code": "ApprovalRejected",
            "message": "too dear",
        }
        assert in_batches(compensations_run(fakes, instance_id)) == UNDO_AFTER["pick_a"]
        assert "charge" not in scheduled(host, instance_id)

    def test_an_unreadable_decision_counts_as_a_rejection(self, host: DevHost) -> None:
        instance_id = host.start("shop", {"approval": True})
        host.wait_idle()
        host.raise_event(instance_id, "Approval", {"approved": "yes"})
        host.wait_for(instance_id, skip_time=False)
        assert host.output(instance_id)["failure"]["code"] == "ApprovalRejected"

    def test_no_decision_in_24_hours_times_out_in_virtual_time(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        started = clock(host).now()
        began = time.monotonic()
        instance_id = run_to_end(host, {"approval": True})
        output = host.output(instance_id)
        assert output["failure"] == {
            "step": "approval",
            "code": "ApprovalTimedOut",
            "message": "no decision within 86400 s",
        }
        assert step(host, instance_id, "approval")["status"] == "TimedOut"
        assert clock(host).now() - started >= timedelta(hours=24)
        assert time.monotonic() - began < 5
        assert in_batches(compensations_run(fakes, instance_id)) == UNDO_AFTER["pick_a"]


class TestOperatorIntervention:
    def test_a_test_waiting_for_a_parked_saga_fails_at_once_with_the_step_and_reason(
        self, host: DevHost
    ) -> None:
        """A refund that keeps failing parks the saga; `run_to_end` gives up as soon as the
        host is idle, naming the step and the error, rather than timing out after 30 s."""
        started = time.monotonic()
        with pytest.raises(WaitAbandoned) as stopped:
            run_to_end(host, {"fail": {"charge": "business", "refund": "fault"}})
        assert time.monotonic() - started < 10
        message = str(stopped.value)
        assert '"status": "NeedsAttention"' in message
        assert '"attention": {"step": "charge", "code": "ActivityFault"' in message
        assert "refund attempt 3 broke" in message

    def test_a_compensation_that_keeps_failing_waits_for_the_operator(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """release_stock faults on all 3 attempts: NeedsAttention, naming the step and the
        error; after the fix, RetryCompensation resumes from that step: Compensated."""
        saga_input = {"fail": {"charge": "business", "release_stock": "fault"}}
        instance_id = host.start("shop", saga_input)
        _idle_through_timers(host)
        status = host.custom_status(instance_id)
        assert status["status"] == "NeedsAttention"
        assert status["attention"] == {
            "step": "reserve",
            "code": "ActivityFault",
            "message": "Activity function 'release_stock' failed:  RuntimeError: "
            "release_stock attempt 3 broke",
        }
        assert status["failure"]["step"] == "charge"
        assert step(host, instance_id, "reserve")["status"] == "Compensating"
        assert step(host, instance_id, "pick_a")["status"] == "Compensated"
        fakes.repaired.add("release_stock")
        host.raise_event(instance_id, "RetryCompensation")
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        output = host.output(instance_id)
        assert output["status"] == "Compensated"
        assert output["attention"] is None
        assert output["failure"]["step"] == "charge"
        assert journal(fakes, instance_id)[-1] == ("release_stock", "undone")

    def test_only_the_group_members_still_failing_are_retried(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """unpick_b keeps failing while unpick_a succeeded: after the operator's signal only
        unpick_b runs again, then the saga carries on with release_stock."""
        saga_input = {"fail": {"charge": "business", "unpick_b": "fault"}}
        instance_id = host.start("shop", saga_input)
        _idle_through_timers(host)
        status = host.custom_status(instance_id)
        assert (status["status"], status["attention"]["step"]) == ("NeedsAttention", "pick_b")
        assert "release_stock" not in scheduled(host, instance_id)
        fakes.repaired.add("unpick_b")
        host.raise_event(instance_id, "RetryCompensation")
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        names = scheduled(host, instance_id)
        assert (names.count("unpick_a"), names.count("unpick_b")) == (1, 4)
        assert names[-1] == "release_stock"
        assert host.output(instance_id)["status"] == "Compensated"

    def test_each_operator_signal_buys_one_retry_round_even_when_sent_twice(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """A double click sends two signals: one retry round runs, and the second signal is
        absorbed instead of being replayed into every later wait (the SDK keeps unclaimed
        events), so the saga settles back in NeedsAttention."""
        saga_input = {"fail": {"reserve": "business", "release_stock": "fault"}}
        instance_id = host.start("shop", saga_input)
        _idle_through_timers(host)
        assert host.custom_status(instance_id)["status"] == "NeedsAttention"
        host.raise_event(instance_id, "RetryCompensation")
        host.raise_event(instance_id, "RetryCompensation")
        _idle_through_timers(host)
        assert host.custom_status(instance_id)["status"] == "NeedsAttention"
        faults = [done for name, done in journal(fakes, instance_id) if name == "release_stock"]
        assert faults == ["fault"] * 6
        fakes.repaired.add("release_stock")
        host.raise_event(instance_id, "RetryCompensation")
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["status"] == "Compensated"

    def test_a_signal_sent_before_anything_failed_is_dropped(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """An early RetryCompensation does not pre-approve a later retry round."""
        saga_input = {"fail": {"reserve": "business", "release_stock": "fault"}}
        instance_id = host.start("shop", saga_input)
        host.raise_event(instance_id, "RetryCompensation")
        _idle_through_timers(host)
        assert host.custom_status(instance_id)["status"] == "NeedsAttention"
        faults = [done for name, done in journal(fakes, instance_id) if name == "release_stock"]
        assert faults == ["fault"] * 3

    def test_a_pivot_whose_outcome_stays_unknown_waits_for_the_operator(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """ship faults on every attempt: it may have applied, and cannot be undone, so the
        saga neither compensates nor completes until the operator's retry succeeds."""
        instance_id = host.start("shop", {"fail": {"ship": "fault"}})
        _idle_through_timers(host)
        status = host.custom_status(instance_id)
        assert (status["status"], status["attention"]["step"]) == ("NeedsAttention", "ship")
        assert compensations_run(fakes, instance_id) == []
        fakes.repaired.add("ship")
        host.raise_event(instance_id, "RetryCompensation")
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["status"] == "Completed"
        assert step(host, instance_id, "ship")["attempts"] == 4

    def test_a_retriable_step_that_fails_waits_for_the_operator(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """Past the pivot nothing is compensated, not even for a business failure."""
        instance_id = host.start("shop", {"fail": {"confirm": "business"}})
        _idle_through_timers(host)
        status = host.custom_status(instance_id)
        assert status["status"] == "NeedsAttention"
        assert status["attention"]["step"] == "confirm"
        fakes.repaired.add("confirm")
        host.raise_event(instance_id, "RetryCompensation")
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["status"] == "Completed"
        assert compensations_run(fakes, instance_id) == []


def _idle_through_timers(host: DevHost) -> None:
    """Let every due timer fire until only external events could move things on."""
    host.wait_idle()
    while (due := clock(host).next_due()) is not None:
        host.advance((due - clock(host).now()).total_seconds())


class TestStatusRecord:
    def test_the_custom_status_follows_every_transition(self, host: DevHost) -> None:
        """Running (retrying) -> AwaitingApproval -> Compensating (a refund retrying) ->
        Compensated; the output repeats the final record."""
        saga_input = {
            "approval": True,
            "fail": {"reserve": "fault:1", "charge": "business", "refund": "fault:1"},
        }
        instance_id = host.start("shop", saga_input)
        host.wait_idle()
        status = host.custom_status(instance_id)
        assert status["saga"] == "shop"
        assert status["status"] == "Running"
        assert status["failure"] is None
        assert status["steps"][0] == {
            "name": "reserve",
            "status": "Running",
            "attempts": 1,
            "lastError": {
                "code": "ActivityFault",
                "message": "Activity function 'reserve' failed:  RuntimeError: "
                "reserve attempt 1 broke",
            },
        }
        assert set(step_states(host, instance_id).values()) == {"Running", "Pending"}

        host.advance(5)
        assert host.custom_status(instance_id)["status"] == "AwaitingApproval"
        assert step_states(host, instance_id) == {
            "reserve": "Succeeded",
            "pick_a": "Succeeded",
            "pick_b": "Succeeded",
            "approval": "Running",
            "charge": "Pending",
            "ship": "Pending",
            "confirm": "Pending",
        }

        host.raise_event(instance_id, "Approval", {"approved": True})
        host.wait_idle()
        status = host.custom_status(instance_id)
        assert status["status"] == "Compensating"
        assert status["failure"] == {
            "step": "charge",
            "code": "Refused",
            "message": "charge refused",
        }
        assert step_states(host, instance_id) == {
            "reserve": "Succeeded",
            "pick_a": "Succeeded",
            "pick_b": "Succeeded",
            "approval": "Succeeded",
            "charge": "Compensating",
            "ship": "Skipped",
            "confirm": "Skipped",
        }

        host.advance(1)
        assert host.state(instance_id).runtime_status == COMPLETED
        final = host.custom_status(instance_id)
        assert final["status"] == "Compensated"
        assert step_states(host, instance_id) == {
            "reserve": "Compensated",
            "pick_a": "Compensated",
            "pick_b": "Compensated",
            "approval": "Succeeded",
            "charge": "Compensated",
            "ship": "Skipped",
            "confirm": "Skipped",
        }
        assert host.output(instance_id) == {**final, "results": host.output(instance_id)["results"]}


class TestReplaySafety:
    def test_a_successful_saga_schedules_no_compensation_at_any_episode_boundary(
        self, host: DevHost, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The SDK closes the generator after every episode (GeneratorExit); the engine has no
        `finally` or bare `except`, so nothing is scheduled or dropped there."""
        ignored: list[str] = []
        monkeypatch.setattr(sys, "unraisablehook", lambda info: ignored.append(str(info.exc_value)))
        instance_id = run_to_end(host, {}, saga="trio")
        assert scheduled(host, instance_id) == ["reserve", "charge", "ship"]
        assert len(events(host, instance_id, EventType.ORCHESTRATOR_STARTED)) == 4
        assert ignored == []
        assert host.output(instance_id)["status"] == "Completed"
