"""Replay as the real host does it: non-determinism, open tasks, retries, continue-as-new,
custom status, long timers, names and missing functions.

Sources followed (the extension bundle [4.*, 5.0.0) ships the Durable extension 3.x, on
DurableTask.Core 3.8-3.9 and DurableTask.AzureStorage 2.9):
- azure-functions-durable-extension 3.x, src/WebJobs.Extensions.DurableTask/Listener/
  OutOfProcOrchestrationShim.cs (ProcessAsyncActionsV2, ScheduleDurableTaskEvents),
  ContextImplementations/DurableOrchestrationContext.cs (SetCustomStatus, WaitForExternalEvent),
  AzureStorageDurabilityProvider.cs (timer limits);
- durabletask src/DurableTask.Core (core-v3.9.0): TaskOrchestrationContext.cs,
  TaskOrchestrationExecutor.cs, RetryInterceptor.cs, TaskOrchestrationDispatcher.cs;
- azure-functions-durable 1.7.0: models/Task.py (LongTimerTask, RetryAbleTask).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from devhost.history import EventType
from devhost.http.status import parse_json_text
from devhost.instance import COMPLETED, FAILED, RUNNING, InstanceState
from devhost.limits import custom_status_violation
from devhost.testing import DevHost

APP = Path(__file__).parents[1] / "apps" / "fidelity_executor"
CHANGED_CODE = (
    "Was a change made to the orchestrator code after this instance had already started running?"
)
STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHost]:
    with DevHost(APP) as running:
        yield running


@pytest.fixture
def app(host: DevHost) -> Iterator[Any]:
    module = sys.modules[host.functions.activities["echo"].get_user_function().__module__]
    module.code["variant"] = "old"
    yield module
    module.code["variant"] = "old"
    for gate in module.gates.values():
        gate.set()


def gate_name() -> str:
    return f"gate-{uuid.uuid4().hex[:8]}"


def wait_until(host: DevHost, instance_id: str, check: Callable[[InstanceState], bool]) -> None:
    """Poll until ``check`` holds; history grows a whole episode at a time, when it is saved."""
    deadline = time.monotonic() + 10
    while not check(host.state(instance_id)):
        assert time.monotonic() < deadline, "the instance never got there"
        time.sleep(0.01)


def events(state: InstanceState, kind: EventType) -> list[dict[str, Any]]:
    return [event for event in state.history if event["EventType"] == kind]


def scheduled(state: InstanceState) -> list[int]:
    return [event["EventId"] for event in events(state, EventType.TASK_SCHEDULED)]


def output(state: InstanceState) -> Any:
    return parse_json_text(state.output)


def redeploy_during(
    host: DevHost, app: Any, orchestrator: str, variant: str, first_id: int = 1
) -> InstanceState:
    """Run until task ``first_id`` (held open) is scheduled, change the code, let it replay."""
    gate = gate_name()
    instance_id = host.start(orchestrator, gate)
    wait_until(host, instance_id, lambda s: len(s.history) > 0 and _has_task(s, first_id))
    app.code["variant"] = variant
    app.gate(gate).set()
    return host.wait_for(instance_id)


def _has_task(state: InstanceState, task_id: int) -> bool:
    return any(
        event.get("EventId") == task_id
        for event in state.history
        if event["EventType"]
        in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
    )


class TestNonDeterminism:
    def test_another_activity_at_a_replayed_position_fails_the_instance(
        self, host: DevHost, app: Any
    ) -> None:
        """TaskOrchestrationContext.HandleTaskScheduledEvent (core-v3.9.0): the replay scheduled
        another activity where the history has one; the instance fails with the host's text."""
        state = redeploy_during(host, app, "redeployed", "renamed")
        assert state.runtime_status == FAILED
        assert output(state) == (
            "Non-Deterministic workflow detected: A previous execution of this orchestration "
            "scheduled an activity task with sequence number 1 named 'held', but the current "
            "orchestration replay instead scheduled an activity task named 'other' with this "
            f"sequence number.  {CHANGED_CODE}"
        )

    def test_a_timer_where_an_activity_was_fails_the_instance(
        self, host: DevHost, app: Any
    ) -> None:
        """HandleTaskScheduledEvent (core-v3.9.0): an action of another kind at the position."""
        state = redeploy_during(host, app, "redeployed", "timer")
        assert state.runtime_status == FAILED
        assert output(state) == (
            "Non-Deterministic workflow detected: A previous execution of this orchestration "
            "scheduled an activity task with sequence number 1 named 'held', but the current "
            "orchestration replay instead produced a CreateTimerOrchestratorAction action with "
            f"this sequence number. {CHANGED_CODE}"
        )

    def test_a_call_no_longer_made_fails_the_instance(self, host: DevHost, app: Any) -> None:
        """HandleTaskScheduledEvent (core-v3.9.0): the history holds a task the replay did not
        create; the orchestrator's early return does not complete the instance."""
        state = redeploy_during(host, app, "redeployed", "removed")
        assert state.runtime_status == FAILED
        assert output(state) == (
            "Non-Deterministic workflow detected: A previous execution of this orchestration "
            "scheduled an activity task with sequence ID 1 and name 'held' (version ''), but the "
            f"current replay execution hasn't (yet?) scheduled this task. {CHANGED_CODE}"
        )

    def test_names_are_compared_ignoring_case(self, host: DevHost, app: Any) -> None:
        """Core compares names with OrdinalIgnoreCase (core-v3.9.0): 'HELD' replays 'held'."""
        state = redeploy_during(host, app, "redeployed", "recased")
        assert state.runtime_status == COMPLETED, state.output

    def test_another_sub_orchestrator_fails_the_instance(self, host: DevHost, app: Any) -> None:
        """HandleSubOrchestrationCreatedEvent (core-v3.9.0): another orchestrator name at the
        position of a sub-orchestration in the history."""
        state = redeploy_during(host, app, "sub_redeployed", "new", first_id=0)
        assert state.runtime_status == FAILED
        text = output(state)
        assert text.startswith(
            "Non-Deterministic workflow detected: A previous execution of this orchestration "
            "scheduled a sub-orchestration task with sequence ID 0 and name 'child_held' "
            "(version '', instance ID '"
        )
        assert text.endswith(
            "but the current orchestration replay instead scheduled a sub-orchestration task "
            f"with name other_child at this sequence number. {CHANGED_CODE}"
        )


class TestOpenTasks:
    def test_an_orchestrator_that_returned_waits_for_its_open_timer(self, host: DevHost) -> None:
        """TaskOrchestrationExecutor.ExecuteCore (core-v3.9.0) completes an instance only when
        no task is open: a timer neither awaited nor cancelled holds it until it fires."""
        instance_id = host.start("returns_with_open_timer")
        host.wait_idle()
        assert host.state(instance_id).runtime_status == RUNNING
        host.advance(3600)
        state = host.wait_for(instance_id, skip_time=False)
        assert (state.runtime_status, output(state)) == (COMPLETED, "fast")

    def test_a_failure_waits_for_the_open_activity(self, host: DevHost, app: Any) -> None:
        """The shim awaits every action before it throws the SDK's error, and Core fails the
        instance only once nothing is open (OutOfProcOrchestrationShim.ScheduleDurableTaskEvents,
        TaskOrchestrationExecutor)."""
        gate = gate_name()
        instance_id = host.start("raises_with_open_activity", gate)
        wait_until(host, instance_id, lambda s: len(events(s, EventType.TASK_FAILED)) == 1)
        assert host.state(instance_id).runtime_status == RUNNING
        app.gate(gate).set()
        state = host.wait_for(instance_id)
        assert state.runtime_status == FAILED
        assert (
            output(state)
            == "Orchestrator function 'raises_with_open_activity' failed: gave up early"
        )

    def test_after_a_fail_fast_task_all_the_next_call_waits_for_the_siblings(
        self, host: DevHost, app: Any
    ) -> None:
        """task_all fails fast in the SDK, but the shim's Task.WhenAll waits for every child
        before it issues the next action (ProcessAsyncActionsV2): the compensation is scheduled
        only once the held sibling has finished, and keeps the id the SDK gave it."""
        gate = gate_name()
        instance_id = host.start("compensates_after_fail_fast", gate)
        wait_until(host, instance_id, lambda s: len(events(s, EventType.TASK_FAILED)) == 1)
        assert scheduled(host.state(instance_id)) == [0, 1]
        app.gate(gate).set()
        state = host.wait_for(instance_id)
        assert (state.runtime_status, output(state)) == (COMPLETED, "compensated")
        assert scheduled(state) == [0, 1, 2]


class TestRetries:
    def test_the_last_failure_is_reported_without_another_interval(self, host: DevHost) -> None:
        """RetryInterceptor.Invoke (core-v3.9.0): after the last attempt a timer that fires at
        once (kept for replay compatibility), not another 60 s interval."""
        instance_id = host.start("retried_twice")
        state = host.wait_for(instance_id)
        assert state.runtime_status == COMPLETED
        assert output(state).startswith("Activity function 'boom' failed")
        timers = events(state, EventType.TIMER_CREATED)
        assert [t["EventId"] for t in timers] == [1, 3]
        first_gap = _fire_delay(state, timers[0])
        last_gap = _fire_delay(state, timers[1])
        assert (first_gap, last_gap) == (60.0, 0.0)


def _fire_delay(state: InstanceState, timer: dict[str, Any]) -> float:
    created = datetime.strptime(timer["Timestamp"], STAMP)
    fire_at = datetime.strptime(timer["FireAt"], STAMP)
    return (fire_at - created).total_seconds()


class TestContinueAsNew:
    def test_events_raised_after_continue_as_new_reach_the_next_generation(
        self, host: DevHost
    ) -> None:
        """TaskOrchestrationContext.HandleEventRaisedEvent + TaskOrchestrationDispatcher
        (core-v3.9.0; AzureStorage's default BehaviorOnContinueAsNew.Carryover): an event
        processed after the orchestrator continued as new goes to the next generation, whose
        createdTime is its own (AzureTableTrackingStore.UpdateStateAsync)."""
        instance_id = start_eternal_with_events(host, ["Next", "Ping"])
        state = host.wait_for(instance_id)
        assert state.runtime_status == COMPLETED
        assert output(state) == {"generation": 1, "event": "hello"}
        assert state.created_time == host.clock.now()

    def test_events_processed_before_continue_as_new_are_dropped(self, host: DevHost) -> None:
        """An event buffered before the orchestrator continued as new is not carried
        (ContinueAsNew(input) passes preserveUnprocessedEvents=false; extension 3.x)."""
        instance_id = start_eternal_with_events(host, ["Ping", "Next"])
        host.wait_idle()
        state = host.state(instance_id)
        assert (state.runtime_status, state.input) == (RUNNING, '"1"')  # waits for Ping for ever
        host.terminate(instance_id, "test over")


def start_eternal_with_events(host: DevHost, names: list[str]) -> str:
    """Deliver ``names`` to ``eternal``'s first generation in one batch, in that order."""
    instance_id = host.start("eternal", 0)
    host.wait_for(instance_id, RUNNING, skip_time=False)
    host.wait_idle()
    host.suspend(instance_id, "batching events")
    for name in names:
        host.raise_event(instance_id, name, "hello")
    host.advance(5)
    host.resume(instance_id, "")
    return instance_id


class TestCustomStatus:
    def test_setting_none_clears_the_status(self, host: DevHost) -> None:
        """The SDK omits a falsy status and the shim then sets none for the episode
        (OutOfProcOrchestrationShim; AzureTableTrackingStore writes "null")."""
        instance_id = host.start("status_then_none")
        host.wait_for(instance_id, RUNNING, skip_time=False)
        wait_until(host, instance_id, lambda s: len(events(s, EventType.TASK_COMPLETED)) == 1)
        host.wait_idle()
        assert host.state(instance_id).custom_status is None
        host.raise_event(instance_id, "Go")
        assert host.wait_for(instance_id).runtime_status == COMPLETED

    @pytest.mark.parametrize(("length", "fits"), [(8701, True), (8702, False)])
    def test_the_limit_is_16_kb_of_utf16_rounded_down(
        self, host: DevHost, length: int, fits: bool
    ) -> None:
        """MessagePayloadDataConverter.Serialize (extension 3.x): (UTF-16 bytes / 1024) > 16
        fails, so 17,406 bytes (8,701 characters and two quotes) pass and 17,408 fail."""
        state = host.wait_for(host.start("status_of_size", length))
        if fits:
            assert state.runtime_status == COMPLETED
        else:
            assert state.runtime_status == FAILED
            assert output(state) == (
                "Orchestrator function 'status_of_size' failed: The UTF-16 size of the "
                "JSON-serialized payload must not exceed 16 KB. The current payload size is "
                "17 KB."
            )

    def test_an_oversized_status_after_the_first_episode_fails_as_non_deterministic(
        self, host: DevHost
    ) -> None:
        """The shim sets the status before it replays any action, so the error stops it there;
        the history's first scheduled task is then not replayed and Core fails the instance
        with that instead (OutOfProcOrchestrationShim.ScheduleDurableTaskEvents, core-v3.9.0)."""
        state = host.wait_for(host.start("status_too_big_later"))
        assert state.runtime_status == FAILED
        assert "hasn't (yet?) scheduled this task" in output(state)

    def test_the_measure_counts_utf16_units_of_compact_json(self) -> None:
        """Non-ASCII characters count as UTF-16 units, not escapes; astral ones as two."""
        assert custom_status_violation({"k": "é" * 8000}) is None
        assert custom_status_violation({"k": "😀" * 4400}) is not None


class TestTimersAndNames:
    def test_a_ten_day_timer_is_split_into_steps_of_three_days(self, host: DevHost) -> None:
        """The extension sends the Azure Storage limits (6 days, 3-day steps;
        AzureStorageDurabilityProvider) and the SDK's LongTimerTask splits the timer."""
        state = host.wait_for(host.start("long_timer"))
        assert state.runtime_status == COMPLETED
        delays = [_fire_delay(state, timer) for timer in events(state, EventType.TIMER_CREATED)]
        assert [round(d / 86400, 3) for d in delays] == [3.0, 3.0, 4.0]

    def test_function_names_resolve_ignoring_case(self, host: DevHost) -> None:
        """FunctionName compares OrdinalIgnoreCase (extension 3.x): 'ECHO' runs echo and
        'CHILD' runs child; the history keeps the names as the orchestrator spelled them."""
        state = host.wait_for(host.start("calls_with_other_casing"))
        assert state.runtime_status == COMPLETED, state.output
        assert output(state)[0] == "loud"
        assert events(state, EventType.TASK_SCHEDULED)[0]["Name"] == "ECHO"

    def test_a_call_to_a_missing_activity_waits_for_ever_and_is_logged(
        self, host: DevHost, caplog: pytest.LogCaptureFixture
    ) -> None:
        """DurableOrchestrationContext.CallDurableTaskFunctionAsync throws before scheduling and
        the shim swallows it (extension 3.x): nothing is scheduled, the instance stays Running.
        devhost adds an error log naming the function."""
        with caplog.at_level(logging.ERROR, logger="devhost"):
            instance_id = host.start("calls_missing")
            host.wait_idle()
        state = host.state(instance_id)
        assert state.runtime_status == RUNNING
        assert scheduled(state) == []
        assert any("no_such_activity" in record.getMessage() for record in caplog.records)
        host.terminate(instance_id, "test over")

    @pytest.mark.parametrize(
        ("kind", "message"),
        [
            (
                "own_id",
                "The instance ID of a sub-orchestration must be different than the instance ID "
                "of a parent orchestration.",
            ),
            ("at_id", "Orchestration instance ids must not start with @."),
            (
                "long_retry",
                "The Azure Storage provider supports a maximum of 6 days for time-based delays",
            ),
        ],
    )
    def test_a_call_the_extension_refuses_waits_for_ever_and_is_logged(
        self, host: DevHost, caplog: pytest.LogCaptureFixture, kind: str, message: str
    ) -> None:
        """DurableOrchestrationContext.CallDurableTaskFunctionAsync (extension 3.x) checks a
        sub-orchestration's id and (AzureStorageDurabilityProvider.ValidateDelayTime) a retry
        interval before scheduling; the shim swallows what they throw, so nothing is scheduled
        and the instance waits. devhost logs the extension's message."""
        with caplog.at_level(logging.ERROR, logger="devhost"):
            instance_id = host.start("refused_call", kind)
            host.wait_idle()
        state = host.state(instance_id)
        assert state.runtime_status == RUNNING
        assert state.pending == {}
        assert any(message in record.getMessage() for record in caplog.records)
        host.terminate(instance_id, "test over")

    def test_a_sub_orchestration_gets_cores_default_instance_id(self, host: DevHost) -> None:
        """TaskOrchestrationContext.CreateSubOrchestrationInstanceCore (core-v3.9.0): an id not
        given is the parent's execution id and the task's sequence number."""
        state = host.wait_for(host.start("parent"))
        created = events(state, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)[0]
        assert created["InstanceId"] == f"{state.execution_id}:0"
        assert output(state) == f"child of {state.instance_id}"

    def test_an_exception_without_a_message_is_named_by_its_type(self, host: DevHost) -> None:
        """SDK 1.7 TaskOrchestrationExecutor.get_orchestrator_state_str sends str(type(e)) for
        an empty message, and the shim prefixes it (OutOfProcOrchestrationShim)."""
        state = host.wait_for(host.start("raises_empty"))
        assert output(state) == "Orchestrator function 'raises_empty' failed: <class 'ValueError'>"


class TestStatusOutputs:
    @pytest.mark.parametrize(
        ("reason", "shown"),
        [('{"a": 1}', {"a": 1}), ('"x"', "x"), ("plain words", "plain words"), ("42", 42)],
    )
    def test_a_terminate_reason_is_kept_verbatim_and_read_as_json(
        self, host: DevHost, reason: str, shown: Any
    ) -> None:
        """DurableClient.TerminateAsync stores the reason as ExecutionTerminated's input and
        AzureTableTrackingStore makes it the output; the status API parses it as a JSON token
        when it can (DurableClient.ParseToJToken, extension 3.x)."""
        instance_id = host.start("status_then_none")
        host.wait_idle()
        host.terminate(instance_id, reason)
        host.wait_for(instance_id, skip_time=False)
        assert host.output(instance_id) == shown

    def test_a_suspended_instance_shows_its_suspend_reason_as_output(self, host: DevHost) -> None:
        """AzureTableTrackingStore.UpdateStateAsync writes ExecutionSuspended's reason as the
        output (azurestorage-v2.9.0), and ExecutionResumed's while it runs again."""
        instance_id = host.start("status_then_none")
        host.wait_idle()
        host.suspend(instance_id, "paused for maintenance")
        host.wait_for(instance_id, "Suspended", skip_time=False)
        assert host.output(instance_id) == "paused for maintenance"
        host.resume(instance_id, "back")
        host.wait_for(instance_id, RUNNING, skip_time=False)
        assert host.output(instance_id) == "back"
        host.raise_event(instance_id, "Go")
        assert host.output(host.wait_for(instance_id).instance_id) == "done"
