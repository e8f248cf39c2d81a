"""devhost runs orchestrations through the real Durable SDK replay, with virtual time."""

import dataclasses
import sys
from datetime import timedelta

import pytest

from devhost.config import HostConfig
from devhost.history import EventType
from devhost.instance import COMPLETED, FAILED, RUNNING, SUSPENDED, TERMINATED
from devhost.management import InstanceAlreadyExists, InstanceNotRunning, UnknownOrchestrator
from devhost.testing import DevHost
from tests.devhost.conftest import APPS


def events_of(host: DevHost, instance_id: str, kind: EventType) -> list[dict]:
    return [e for e in host.state(instance_id).history if e["EventType"] == kind]


def task_id_of(event: dict) -> int:
    return event.get("TaskScheduledId", event.get("TimerId", event["EventId"]))


class TestSequencesAndFanOut:
    def test_a_sequence_returns_each_activity_result_in_order(self, host: DevHost) -> None:
        """Three activities run one after another; the output lists their results."""
        instance_id = host.start("sequence", ["Tokyo", "Seattle", "London"])
        state = host.wait_for(instance_id)
        assert state.runtime_status == COMPLETED
        assert host.output(instance_id) == ["Hello Tokyo", "Hello Seattle", "Hello London"]
        scheduled = events_of(host, instance_id, EventType.TASK_SCHEDULED)
        assert [e["EventId"] for e in scheduled] == [0, 1, 2]

    def test_fan_out_fan_in_collects_every_result(self, host: DevHost) -> None:
        """task_all over 50 activities completes with all 50 results."""
        instance_id = host.start("fan_out", 50)
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id) == 50
        ids = sorted(e["EventId"] for e in events_of(host, instance_id, EventType.TASK_SCHEDULED))
        assert ids == list(range(50))


class TestRetries:
    def test_retry_that_fails_then_succeeds_uses_the_sdk_sequence_ids(self, host: DevHost) -> None:
        """Two failures then success: TS#1 TF#1 timer#2 TS#3 TF#3 timer#4 TS#5 TC#5, then #6."""
        instance_id = host.start("with_retry", "fail2:a")
        host.wait_for(instance_id)
        assert host.output(instance_id) == ["Hello before", "fail2:a ok after 3", "Hello after"]
        history = host.state(instance_id).history
        episode_markers = (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED)
        trace = [
            (EventType(e["EventType"]).name, task_id_of(e))
            for e in history
            if e["EventType"] not in episode_markers
        ]
        assert trace == [
            ("EXECUTION_STARTED", -1),
            ("TASK_SCHEDULED", 0),
            ("TASK_COMPLETED", 0),
            ("TASK_SCHEDULED", 1),
            ("TASK_FAILED", 1),
            ("TIMER_CREATED", 2),
            ("TIMER_FIRED", 2),
            ("TASK_SCHEDULED", 3),
            ("TASK_FAILED", 3),
            ("TIMER_CREATED", 4),
            ("TIMER_FIRED", 4),
            ("TASK_SCHEDULED", 5),
            ("TASK_COMPLETED", 5),
            ("TASK_SCHEDULED", 6),
            ("TASK_COMPLETED", 6),
            ("EXECUTION_COMPLETED", -1),
        ]

    def test_retries_exhausted_throw_after_the_extra_final_timer(self, host: DevHost) -> None:
        """Three failed attempts: the error reaches the orchestrator only after timer #6."""
        instance_id = host.start("with_retry", "fail9:b")
        host.wait_for(instance_id)
        first, gave_up, after = host.output(instance_id)
        assert (first, after) == ("Hello before", "Hello after")
        assert gave_up.startswith("gave up: Activity function 'flaky' failed:  ValueError")
        timers = [e["EventId"] for e in events_of(host, instance_id, EventType.TIMER_CREATED)]
        assert timers == [2, 4, 6]
        last = events_of(host, instance_id, EventType.TASK_SCHEDULED)[-1]
        assert (last["EventId"], last["Input"]) == (7, '"after"')

    def test_retry_waits_the_interval_in_virtual_time(self, host: DevHost) -> None:
        """The retry timer fires only when the clock reaches it: no progress before."""
        instance_id = host.start("with_retry", "fail1:c")
        host.wait_idle()
        assert host.state(instance_id).runtime_status == RUNNING
        host.advance(0.5)
        assert host.state(instance_id).runtime_status == RUNNING
        host.advance(0.5)
        assert host.wait_for(instance_id, skip_time=False).runtime_status == COMPLETED


class TestTimersAndEvents:
    def test_a_day_long_timer_completes_in_virtual_time(self, host: DevHost) -> None:
        """create_timer for 24 h: skipped over, and the fire time is in the history."""
        start = host.clock.now()
        instance_id = host.start("sleeper", 86400)
        host.wait_for(instance_id)
        assert host.output(instance_id) == "woke"
        assert host.clock.now() - start >= timedelta(hours=24)

    def test_event_wins_the_race_and_the_timer_is_cancelled(self, host: DevHost) -> None:
        """task_any(event, timer): the event wins, the cancelled timer never fires."""
        instance_id = host.start("approval")
        host.wait_idle()
        host.raise_event(instance_id, "Approval", {"by": "alice"})
        state = host.wait_for(instance_id, skip_time=False)
        assert state.runtime_status == COMPLETED
        assert host.output(instance_id) == {"approved": {"by": "alice"}}
        assert events_of(host, instance_id, EventType.TIMER_FIRED) == []
        assert host.clock.next_due(schedules=False) is None  # no durable timer left

    def test_timer_wins_the_race_without_an_event(self, host: DevHost) -> None:
        """With no event the 24 h timeout fires and the orchestrator takes the timeout path."""
        instance_id = host.start("approval")
        host.wait_for(instance_id)
        assert host.output(instance_id) == "timed out"

    def test_an_uncancelled_timer_keeps_the_instance_running(self, host: DevHost) -> None:
        """The orchestrator returned, but its timer still runs: Completed only when it fires."""
        instance_id = host.start("forgetful")
        host.wait_idle()
        host.raise_event(instance_id, "Go")
        host.wait_idle()
        assert host.state(instance_id).runtime_status == RUNNING
        host.advance(300)
        assert host.state(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id) == "done"

    def test_events_raised_before_they_are_awaited_are_delivered(self, host: DevHost) -> None:
        """Events raised early wait in the instance and are consumed in order."""
        instance_id = host.start("two_events")
        host.raise_event(instance_id, "Second", 2)
        host.raise_event(instance_id, "First", 1)
        host.wait_for(instance_id, skip_time=False)
        assert host.output(instance_id) == [1, 2]


class TestSubOrchestrationsAndContinueAsNew:
    def test_sub_orchestrations_return_their_outputs(self, host: DevHost) -> None:
        """Two named children in parallel and one with a generated id all complete."""
        instance_id = host.start("parent", instance_id="p1")
        host.wait_for(instance_id)
        assert host.output(instance_id) == [[["Hello 0"], ["Hello 1"]], ["Hello x"]]
        assert host.state("p1-child0").parent_instance_id == "p1"
        created = events_of(host, instance_id, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
        assert host.state(created[-1]["InstanceId"]).runtime_status == COMPLETED

    def test_a_failing_sub_orchestration_is_retried_then_reported(self, host: DevHost) -> None:
        """call_sub_orchestrator_with_retry: two failed children, then the error surfaces."""
        instance_id = host.start("parent_of_failure")
        host.wait_for(instance_id)
        output = host.output(instance_id)
        assert output.startswith("child failed: Orchestrator function 'explodes' failed")
        assert "child boom" in output
        assert len(events_of(host, instance_id, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED)) == 2

    def test_continue_as_new_restarts_with_fresh_history(self, host: DevHost) -> None:
        """Each execution starts with the new input; the last one completes."""
        instance_id = host.start("counter", {"n": 0, "to": 3})
        host.wait_for(instance_id)
        assert host.output(instance_id) == 3
        started = events_of(host, instance_id, EventType.EXECUTION_STARTED)
        assert [e["Input"] for e in started] == ['{"n": 3, "to": 3}']


class TestStatusAndLifecycle:
    def test_custom_status_tracks_progress(self, host: DevHost) -> None:
        """Custom status is visible while running and keeps its last value."""
        instance_id = host.start("reporter")
        host.wait_idle()
        assert host.custom_status(instance_id) == {"stage": "halfway"}
        host.raise_event(instance_id, "Continue")
        host.wait_for(instance_id, skip_time=False)
        assert host.custom_status(instance_id) == {"stage": "done"}

    def test_terminate_stops_a_running_instance(self, host: DevHost) -> None:
        """A terminated instance records the reason and refuses further events."""
        instance_id = host.start("two_events")
        host.terminate(instance_id, "no longer needed")
        state = host.wait_for(instance_id, skip_time=False)
        assert state.runtime_status == TERMINATED
        assert host.output(instance_id) == "no longer needed"
        with pytest.raises(InstanceNotRunning):
            host.raise_event(instance_id, "First", 1)

    def test_suspend_holds_events_until_resume(self, host: DevHost) -> None:
        """While suspended nothing is delivered; resume delivers what arrived meanwhile."""
        instance_id = host.start("two_events")
        host.wait_idle()
        host.suspend(instance_id, "hold on")
        host.wait_idle()
        assert host.state(instance_id).runtime_status == SUSPENDED
        host.raise_event(instance_id, "First", 1)
        host.raise_event(instance_id, "Second", 2)
        host.wait_idle()
        assert host.state(instance_id).runtime_status == SUSPENDED
        host.resume(instance_id, "go")
        host.wait_for(instance_id, skip_time=False)
        assert host.output(instance_id) == [1, 2]

    def test_purge_deletes_an_instance_whatever_its_status(self, host: DevHost) -> None:
        """Purge removes a finished instance and, as Azure Storage does, a running one too."""
        done = host.start("sequence", ["a"])
        host.wait_for(done)
        running = host.start("two_events")
        host.wait_idle()
        assert host.state(running).runtime_status == RUNNING
        assert host.purge(done) is True
        assert host.purge(running) is True
        assert host.purge(running) is False
        for instance_id in (done, running):
            with pytest.raises(KeyError):
                host.state(instance_id)

    def test_orchestrator_exception_fails_the_instance(self, host: DevHost) -> None:
        """An exception in the orchestrator: Failed, with the message as output."""
        instance_id = host.start("explodes", "kaboom")
        state = host.wait_for(instance_id)
        assert state.runtime_status == FAILED
        assert host.output(instance_id) == "Orchestrator function 'explodes' failed: kaboom"

    def test_starting_a_running_id_again_is_refused_with_non_running_states(self) -> None:
        """overridableExistingInstanceStates=NonRunningStates: ids are unique among unfinished
        instances; a finished one may be reused."""
        config = HostConfig(overridable_existing_instance_states="NonRunningStates")
        with DevHost(APPS / "basics", config=config) as host:
            host.start("two_events", instance_id="same")
            with pytest.raises(InstanceAlreadyExists):
                host.start("two_events", instance_id="same")
            host.terminate("same")
            host.wait_for("same", skip_time=False)
            host.start("sequence", ["again"], instance_id="same")
            host.wait_for("same")
            assert host.output("same") == ["Hello again"]

    def test_starting_a_running_id_replaces_it_with_any_state(self) -> None:
        """overridableExistingInstanceStates AnyState: the new start replaces the running
        instance, and the old execution's late events are dropped."""
        config = dataclasses.replace(
            HostConfig.load(APPS / "basics"), overridable_existing_instance_states="AnyState"
        )
        with DevHost(APPS / "basics", config=config) as host:
            host.start("two_events", instance_id="same")
            host.raise_event("same", "First", "old")
            host.wait_idle()
            host.start("two_events", instance_id="same")
            host.raise_event("same", "First", "new")
            host.raise_event("same", "Second", 2)
            host.wait_for("same", skip_time=False)
            assert host.output("same") == ["new", 2]

    def test_starting_a_running_id_is_refused_by_default(self, host: DevHost) -> None:
        """The extension's default is NonRunningStates (DurableTaskOptions.cs, extension 3.x)."""
        host.start("two_events", instance_id="running")
        host.wait_idle()
        with pytest.raises(InstanceAlreadyExists):
            host.start("two_events", instance_id="running")
        host.terminate("running")

    def test_unknown_orchestrator_is_refused(self, host: DevHost) -> None:
        with pytest.raises(UnknownOrchestrator):
            host.start("no_such_orchestrator")


class TestGeneratorExitTrap:
    def test_naive_finally_runs_at_every_episode_boundary(
        self, host: DevHost, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The SDK closes the paused generator after each episode, so `finally` runs although
        nothing failed; its yield there raises 'generator ignored GeneratorExit' and the
        activity it asked for is silently dropped. Only the last, real exit schedules it."""
        ignored: list[str] = []
        monkeypatch.setattr(sys, "unraisablehook", lambda info: ignored.append(str(info.exc_value)))
        instance_id = host.start("naive_finally")
        host.wait_for(instance_id)
        assert host.output(instance_id) == "finished"
        scheduled = [e["Name"] for e in events_of(host, instance_id, EventType.TASK_SCHEDULED)]
        assert scheduled == ["say_hello", "say_hello", "record"]
        # one dropped `finally` per paused episode: after starting, and after step 1
        assert ignored.count("generator ignored GeneratorExit") >= 2

    def test_except_exception_compensates_only_on_real_failure(self, host: DevHost) -> None:
        """`except Exception` is not entered by GeneratorExit: success schedules no compensation,
        a real failure schedules exactly one."""
        ok = host.start("careful_except", "fail0:ok")
        host.wait_for(ok)
        assert host.output(ok) == "finished"
        assert "record" not in [e["Name"] for e in events_of(host, ok, EventType.TASK_SCHEDULED)]
        bad = host.start("careful_except", "fail1:bad")
        host.wait_for(bad)
        assert host.output(bad) == "compensated"
        names = [e["Name"] for e in events_of(host, bad, EventType.TASK_SCHEDULED)]
        assert names.count("record") == 1
