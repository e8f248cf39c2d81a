"""The task hub: runs orchestration instances through the SDK's replay protocol, durably.

One asyncio loop owns every instance. An instance is processed by at most one task at a time
(``_process``); each step delivers a batch of events to the orchestrator (one episode), turns the
new actions into scheduled work with the sequence ids the SDK expects, saves the state through
the store, and only then dispatches activities, timers and sub-orchestrations. After a crash,
``start`` reloads every unfinished instance and re-dispatches its outstanding work, so an activity
that was running may run again, exactly as on Azure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from devhost.activities import ActivityInvoker, ActivityOutcome, ActivityRunner
from devhost.app_loader import FunctionIndex
from devhost.clock import Clock, TimerHandle
from devhost.config import HostConfig
from devhost.episode import EpisodeResult, EpisodeRunner, InProcessEpisodes, build_payload
from devhost.faults import Fault, FaultPlan
from devhost.history import EventType, format_timestamp, make_event
from devhost.instance import (
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    SUSPENDED,
    TERMINATED,
    InstanceState,
    PendingWork,
)
from devhost.store import InstanceStore

log = logging.getLogger("devhost")

CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_FOR_EVENT = 4, 5, 6
CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY = 7, 8, 9

COMPLETION_EVENTS = {
    EventType.TASK_COMPLETED: ("TaskScheduledId", "activity"),
    EventType.TASK_FAILED: ("TaskScheduledId", "activity"),
    EventType.TIMER_FIRED: ("TimerId", "timer"),
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: ("TaskScheduledId", "suborchestration"),
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: ("TaskScheduledId", "suborchestration"),
}
SAVE_ATTEMPTS = 6
REPLAYED_EVENT_TYPES = frozenset(
    {
        EventType.ORCHESTRATOR_STARTED,
        EventType.EXECUTION_STARTED,
        EventType.CONTINUE_AS_NEW,
        EventType.EVENT_SENT,
        EventType.EVENT_RAISED,
        EventType.TIMER_FIRED,
        *COMPLETION_EVENTS,
    }
)
SCHEDULABLE_ACTIONS = {CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY, CREATE_TIMER}
FAILURE_EVENTS = {EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED}


class TaskHubError(Exception):
    """Base of the errors the management API maps to HTTP statuses."""


class InstanceNotFound(TaskHubError):
    """No instance with that id."""


class InstanceNotRunning(TaskHubError):
    """The instance has already finished."""


class InstanceAlreadyExists(TaskHubError):
    """An instance with that id exists and has not finished."""


class UnknownOrchestrator(TaskHubError):
    """The app defines no orchestrator with that name."""


class TaskHub:
    """Instances, their histories and outstanding work, for one app."""

    def __init__(
        self,
        functions: FunctionIndex,
        store: InstanceStore,
        clock: Clock,
        config: HostConfig | None = None,
        faults: FaultPlan | None = None,
        activity_runner: ActivityInvoker | None = None,
        episode_runner: EpisodeRunner | None = None,
    ) -> None:
        self.functions = functions
        self.store = store
        self.clock = clock
        self.config = config or HostConfig()
        self.faults = faults or FaultPlan()
        self._instances: dict[str, InstanceState] = {}
        self._played_json: dict[str, str] = {}
        self._queues: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._active: set[str] = set()
        self._timers: dict[tuple[str, int], TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        # Per-instance wake-ups, so many status waiters do not all wake at every change.
        self._instance_changed: dict[str, asyncio.Event] = {}
        self._runner: ActivityInvoker = activity_runner or ActivityRunner(
            self.config.max_concurrent_activities
        )
        self._episodes: EpisodeRunner = episode_runner or InProcessEpisodes()
        self._closed = False
        # CPU spent inside orchestrator episodes (SDK replay + user code), per orchestrator.
        self.orchestrator_cpu_seconds: dict[str, float] = defaultdict(float)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Open the store and resume every unfinished instance."""
        await self.store.open()
        for state in await self.store.load_all():
            self._instances[state.instance_id] = state
            for event in state.history:
                event["IsPlayed"] = True
        for state in list(self._instances.values()):
            if not state.is_terminal:
                self._recover(state)

    async def stop(self) -> None:
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._runner.close()
        await self.store.close()

    def _recover(self, state: InstanceState) -> None:
        for work in state.pending.values():
            self._dispatch(state, work)
        if state.inbox:
            self._kick(state.instance_id)

    # ----------------------------------------------------------------- management API

    def get(self, instance_id: str) -> InstanceState | None:
        return self._instances.get(instance_id)

    def instances(self) -> Iterable[InstanceState]:
        return self._instances.values()

    async def start_new(
        self,
        name: str,
        instance_id: str | None = None,
        input_text: str | None = None,
        parent: tuple[str, int] | None = None,
    ) -> str:
        """Create an instance (its first episode runs asynchronously); returns its id."""
        if name not in self.functions.orchestrators:
            raise UnknownOrchestrator(
                f"The function '{name}' doesn't exist, is disabled, "
                "or is not an orchestrator function."
            )
        instance_id = instance_id or uuid.uuid4().hex
        previous = self._instances.get(instance_id)
        replaceable = self.config.replaces_running_instances and parent is None
        if previous is not None and not previous.is_terminal and not replaceable:
            raise InstanceAlreadyExists(
                f"An Orchestration instance with the status {previous.runtime_status} "
                f"already exists."
            )
        now = self.clock.now()
        state = InstanceState(
            instance_id=instance_id,
            name=name,
            input=input_text,
            created_time=now,
            last_updated_time=now,
            runtime_status=PENDING,
            execution_id=uuid.uuid4().hex,
            parent_instance_id=parent[0] if parent else None,
            parent_task_id=parent[1] if parent else None,
        )
        state.inbox.append(self._execution_started(state, input_text))
        if previous is not None and not previous.is_terminal:
            # AnyState: the running instance is replaced; its outstanding work belongs to the
            # old execution id, so whatever it still delivers is dropped.
            self._finish(previous)
            log.info("orchestrator %s (%s): replaced by a new start", previous.name, instance_id)
        # Claimed before the first await, so concurrent starts of one id cannot both succeed.
        self._instances[instance_id] = state
        self._played_json.pop(instance_id, None)
        try:
            await self._save(state, [], history_reset=previous is not None)
        except BaseException:
            if previous is None:
                self._instances.pop(instance_id, None)
            else:
                self._instances[instance_id] = previous
            raise
        self._kick(instance_id)
        return instance_id

    async def raise_event(self, instance_id: str, name: str, data_text: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state, make_event(EventType.EVENT_RAISED, self.clock.now(), Name=name, Input=data_text)
        )

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state,
            make_event(EventType.EXECUTION_TERMINATED, self.clock.now(), Input=json.dumps(reason)),
        )

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state,
            make_event(EventType.EXECUTION_SUSPENDED, self.clock.now(), Reason=reason or ""),
        )

    async def resume(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state, make_event(EventType.EXECUTION_RESUMED, self.clock.now(), Reason=reason or "")
        )

    async def purge(self, instance_id: str) -> bool:
        """Delete a finished instance and its history; False when there is nothing to purge."""
        state = self._instances.get(instance_id)
        if state is None or not state.is_terminal:
            return False
        async with self._locks[instance_id]:
            await self.store.delete(instance_id)
            self._instances.pop(instance_id, None)
            self._played_json.pop(instance_id, None)
        return True

    async def wait_for(
        self,
        instance_id: str,
        predicate: Callable[[InstanceState], bool],
        timeout_seconds: float | None = None,
    ) -> InstanceState:
        """Wait until the instance satisfies ``predicate`` (raises TimeoutError)."""

        async def condition_met() -> InstanceState:
            while True:
                state = self._instances.get(instance_id)
                if state is not None and predicate(state):
                    return state
                changed = self._instance_changed.get(instance_id)
                if changed is None:
                    changed = self._instance_changed[instance_id] = asyncio.Event()
                await changed.wait()

        return await asyncio.wait_for(condition_met(), timeout_seconds)

    async def next_change(self) -> None:
        """Return after the next state change anywhere in the hub (or a task finishing)."""
        await self._changed.wait()

    def is_idle(self) -> bool:
        """Nothing running or queued: only timers (or nothing) can make progress now."""
        return not self._tasks and not any(self._queues.values())

    async def wait_idle(self, timeout_seconds: float | None = None) -> None:
        async def idle() -> None:
            while not self.is_idle():
                await self._changed.wait()

        await asyncio.wait_for(idle(), timeout_seconds)

    def _require_running(self, instance_id: str) -> InstanceState:
        state = self._instances.get(instance_id)
        if state is None:
            raise InstanceNotFound(f"No instance with ID '{instance_id}' was found.")
        if state.is_terminal:
            raise InstanceNotRunning(
                f"The instance '{instance_id}' is in the {state.runtime_status} state."
            )
        return state

    async def _append_to_inbox(self, state: InstanceState, event: dict[str, Any]) -> None:
        async with self._locks[state.instance_id]:
            state.inbox.append(event)
            await self._save(state, [])
        self._kick(state.instance_id)

    # ----------------------------------------------------------------- processing

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("devhost internal error", exc_info=task.exception())
        self._signal_change()

    def _signal_change(self) -> None:
        """Wake every waiter; each re-checks its condition and waits on a fresh event."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _kick(self, instance_id: str) -> None:
        if instance_id in self._active or self._closed:
            return
        self._active.add(instance_id)
        self._spawn(self._process(instance_id))

    def _enqueue(self, state: InstanceState, event: dict[str, Any]) -> None:
        self._queues[state.instance_id].append((state.execution_id, event))
        self._kick(state.instance_id)

    async def _process(self, instance_id: str) -> None:
        try:
            while True:
                async with self._locks[instance_id]:
                    progressed = await self._step(instance_id)
                if not progressed:
                    return
        finally:
            self._active.discard(instance_id)

    async def _step(self, instance_id: str) -> bool:
        """Handle the next batch of events for one instance; False when there was none."""
        state = self._instances.get(instance_id)
        if state is None or state.is_terminal:
            self._queues.pop(instance_id, None)
            return False
        commands = {EventType(event["EventType"]) for event in state.inbox}
        if EventType.EXECUTION_TERMINATED in commands:
            await self._terminate_now(state)
            return True
        if state.runtime_status == SUSPENDED:
            if EventType.EXECUTION_RESUMED not in commands:
                return False
            await self._set_suspended(state, EventType.EXECUTION_RESUMED)
            return True
        if EventType.EXECUTION_SUSPENDED in commands:
            await self._set_suspended(state, EventType.EXECUTION_SUSPENDED)
            return True
        batch = self._next_batch(state)
        if not batch:
            return False
        if state.completion_on_hold is not None:
            await self._finish_held_completion(state, batch)
        else:
            await self._run_episode(state, batch)
        return True

    def _next_batch(self, state: InstanceState) -> list[dict[str, Any]]:
        """Events for one episode. Events that make the SDK hand out a retry id go one per
        episode and first, so the ids of new actions can be derived from their order."""
        batch: list[dict[str, Any]] = []
        retry_event: dict[str, Any] | None = None
        kept_inbox = []
        for event in state.inbox:
            kind = EventType(event["EventType"])
            if kind in (EventType.EXECUTION_STARTED, EventType.EVENT_RAISED):
                batch.append(event)
            elif kind == EventType.EXECUTION_RESUMED:
                continue  # a resume that found the instance running
            else:
                kept_inbox.append(event)
        if state.history == [] and not any(
            e["EventType"] == EventType.EXECUTION_STARTED for e in batch
        ):
            return []
        queue = self._queues.get(state.instance_id, [])
        left: list[tuple[str, dict[str, Any]]] = []
        for execution_id, event in queue:
            work = self._work_for(state, execution_id, event)
            if work is None:
                continue  # stale: a duplicate, or for a task that no longer waits
            if work.max_attempts > 1:
                if retry_event is None:
                    retry_event = event
                else:
                    left.append((execution_id, event))
                continue
            batch.append(event)
        self._queues[state.instance_id] = left
        state.inbox = kept_inbox
        if retry_event is not None:
            batch.insert(0, retry_event)
        return batch

    @staticmethod
    def _work_for(
        state: InstanceState, execution_id: str, event: dict[str, Any]
    ) -> PendingWork | None:
        if execution_id != state.execution_id:
            return None
        id_key, kind = COMPLETION_EVENTS[EventType(event["EventType"])]
        work = state.pending.get(str(event[id_key]))
        if work is None or not work.kind.endswith(kind):
            return None
        return work

    async def _run_episode(self, state: InstanceState, batch: list[dict[str, Any]]) -> None:
        now = self.clock.now()
        stamp = format_timestamp(now)
        started = make_event(EventType.ORCHESTRATOR_STARTED, now)
        for event in batch:
            event["Timestamp"] = stamp
            event["IsPlayed"] = False
        host_events: list[dict[str, Any]] = []
        to_dispatch: list[PendingWork] = []
        # Retry bookkeeping first: the SDK hands out these ids before any new action's.
        for event in batch:
            self._account_completion(state, event, now, host_events, to_dispatch)

        handler = self.functions.orchestrators.get(state.name)
        began = time.perf_counter()
        if handler is None:
            result = EpisodeResult(error=f"The orchestrator '{state.name}' no longer exists.")
        else:
            played = self._played_json.get(state.instance_id)
            if played is None:
                played = self._played_json[state.instance_id] = played_json_of(state.history)
            history_json = "[" + _joined(played, [started, *batch]) + "]"
            payload = build_payload(
                state.instance_id, state.input, state.parent_instance_id, history_json
            )
            result, cpu_seconds = await self._episodes.run_episode(state.name, handler, payload)
            self.orchestrator_cpu_seconds[state.name] += cpu_seconds
        elapsed_ms = (time.perf_counter() - began) * 1000

        if result.has_custom_status:
            state.custom_status = json.dumps(result.custom_status)
        new_events = [started, *batch, *host_events]
        outcome = "awaiting"
        continue_input: Any = None
        if result.error is None:
            continue_input = self._schedule_actions(state, result, now, new_events, to_dispatch)
        new_events.append(make_event(EventType.ORCHESTRATOR_COMPLETED, now))
        history_reset = False
        if result.error is not None:
            outcome = "failed"
            self._fail(state, now, new_events, result.error)
        elif continue_input is not None:
            outcome = "continued as new"
            new_events = self._continue_as_new(state, continue_input[0], now)
            to_dispatch = []
            history_reset = True
        elif result.is_done:
            if self._open_timers(state):
                outcome = "returned; waiting for un-cancelled timers"
                state.completion_on_hold = {"output": result.output}
            else:
                outcome = "completed"
                self._complete(state, now, new_events, result.output)
        if state.runtime_status == PENDING:
            state.runtime_status = RUNNING
        log.info(
            "orchestrator %s (%s): %s in %.1f ms",
            state.name,
            state.instance_id,
            outcome,
            elapsed_ms,
        )
        for event in new_events:
            event["IsPlayed"] = True
        if history_reset:
            # The new execution's first episode runs on the next step of _process.
            await self._save(state, [], history_reset=True)
        else:
            if not state.is_terminal:
                played = self._played_json.get(state.instance_id)
                if played is None:
                    played = played_json_of(state.history)
                self._played_json[state.instance_id] = _joined(played, new_events)
            state.history.extend(new_events)
            await self._save(state, new_events)
        self._after_save(state, to_dispatch)

    def _account_completion(
        self,
        state: InstanceState,
        event: dict[str, Any],
        now: datetime,
        host_events: list[dict[str, Any]],
        to_dispatch: list[PendingWork],
    ) -> None:
        """Retire the task an event completes; for retried tasks, add the retry's own steps."""
        kind = EventType(event["EventType"])
        if kind not in COMPLETION_EVENTS:
            return
        id_key, _ = COMPLETION_EVENTS[kind]
        work = state.pending.pop(str(event[id_key]))
        self._timers.pop((state.instance_id, work.task_id), None)
        if work.max_attempts <= 1:
            return
        if kind in FAILURE_EVENTS:
            # A failed attempt: the SDK now waits for a retry timer (also after the last one).
            timer_id = self._next_id(state)
            fire_at = now + timedelta(milliseconds=work.retry_interval_ms)
            timer = dataclasses.replace(
                work, kind="retry_timer", task_id=timer_id, fire_at=format_timestamp(fire_at)
            )
            host_events.append(scheduled_event(timer, now))
            state.pending[str(timer_id)] = timer
            to_dispatch.append(timer)
        elif kind == EventType.TIMER_FIRED and work.attempt < work.max_attempts:
            task_id = self._next_id(state)
            is_sub = work.child_instance_id is not None
            again = dataclasses.replace(
                work,
                kind="suborchestration" if is_sub else "activity",
                task_id=task_id,
                fire_at=None,
                attempt=work.attempt + 1,
            )
            host_events.append(scheduled_event(again, now))
            state.pending[str(task_id)] = again
            to_dispatch.append(again)

    def _schedule_actions(
        self,
        state: InstanceState,
        result: EpisodeResult,
        now: datetime,
        new_events: list[dict[str, Any]],
        to_dispatch: list[PendingWork],
    ) -> tuple[Any] | None:
        """Turn the actions added in this episode into scheduled work; cancel timers the
        orchestrator cancelled. Returns (new input,) when it continued as new."""
        actions = result.actions
        for work in list(state.pending.values()):
            index = work.action_index
            if work.kind == "timer" and index is not None and actions[index].get("isCanceled"):
                del state.pending[str(work.task_id)]
                handle = self._timers.pop((state.instance_id, work.task_id), None)
                if handle is not None:
                    handle.cancel()
        continue_input: tuple[Any] | None = None
        for index in range(state.known_action_count, len(actions)):
            action = actions[index]
            action_type = action.get("actionType")
            if action_type == WAIT_FOR_EVENT:
                continue  # events are matched by name: no sequence id
            task_id = self._next_id(state)
            if action_type == CONTINUE_AS_NEW:
                continue_input = (action.get("input"),)
                continue
            if action_type not in SCHEDULABLE_ACTIONS:
                result.error = (
                    f"devhost does not support action type {action_type} "
                    "(durable entities and call_http are not implemented)"
                )
                break
            work = self._work_for_action(state, action, index, task_id)
            new_events.append(scheduled_event(work, now))
            if action.get("isCanceled"):
                continue  # a timer created and cancelled in the same episode
            state.pending[str(task_id)] = work
            to_dispatch.append(work)
        state.known_action_count = len(actions)
        return continue_input

    def _work_for_action(
        self, state: InstanceState, action: dict[str, Any], index: int, task_id: int
    ) -> PendingWork:
        action_type = action["actionType"]
        if action_type == CREATE_TIMER:
            return PendingWork(
                kind="timer", task_id=task_id, fire_at=action["fireAt"], action_index=index
            )
        retry = action.get("retryOptions") or {}
        is_sub = action_type in (CALL_SUB, CALL_SUB_RETRY)
        return PendingWork(
            kind="suborchestration" if is_sub else "activity",
            task_id=task_id,
            name=action["functionName"],
            input=action.get("input"),
            child_instance_id=self._child_id(state, task_id, action.get("instanceId"))
            if is_sub
            else None,
            max_attempts=int(retry.get("maxNumberOfAttempts", 1)),
            retry_interval_ms=int(retry.get("firstRetryIntervalInMilliseconds", 0)),
            action_index=index,
        )

    @staticmethod
    def _next_id(state: InstanceState) -> int:
        task_id = state.next_sequence_id
        state.next_sequence_id += 1
        return task_id

    @staticmethod
    def _child_id(state: InstanceState, task_id: int, requested: str | None) -> str:
        return requested or f"{state.instance_id}:{task_id:04d}"

    def _open_timers(self, state: InstanceState) -> bool:
        return any(work.kind == "timer" for work in state.pending.values())

    # ----------------------------------------------------------------- endings

    def _complete(
        self, state: InstanceState, now: datetime, new_events: list[dict[str, Any]], output: Any
    ) -> None:
        state.output = json.dumps(output)
        state.runtime_status = COMPLETED
        new_events.append(
            make_event(
                EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=1, Result=state.output
            )
        )
        self._finish(state)

    def _fail(
        self, state: InstanceState, now: datetime, new_events: list[dict[str, Any]], error: str
    ) -> None:
        message = f"Orchestrator function '{state.name}' failed: {error}"
        state.output = json.dumps(message)
        state.runtime_status = FAILED
        new_events.append(
            make_event(
                EventType.EXECUTION_COMPLETED,
                now,
                OrchestrationStatus=3,
                Result=state.output,
                FailureDetails={"ErrorMessage": error},
            )
        )
        self._finish(state)

    def _finish(self, state: InstanceState) -> None:
        for work in state.pending.values():
            handle = self._timers.pop((state.instance_id, work.task_id), None)
            if handle is not None:
                handle.cancel()
        state.pending.clear()
        state.completion_on_hold = None
        self._queues.pop(state.instance_id, None)
        self._played_json.pop(state.instance_id, None)

    async def _finish_held_completion(
        self, state: InstanceState, batch: list[dict[str, Any]]
    ) -> None:
        """The orchestrator already returned; timers it left running now fire and end it."""
        now = self.clock.now()
        new_events: list[dict[str, Any]] = []
        for event in batch:
            if event["EventType"] == EventType.TIMER_FIRED:
                state.pending.pop(str(event["TimerId"]), None)
                event["IsPlayed"] = True
                new_events.append(event)
        if not self._open_timers(state) and state.completion_on_hold is not None:
            self._complete(state, now, new_events, state.completion_on_hold["output"])
        state.history.extend(new_events)
        self._played_json.pop(state.instance_id, None)
        await self._save(state, new_events)
        self._after_save(state, [])

    def _continue_as_new(
        self, state: InstanceState, input_text: Any, now: datetime
    ) -> list[dict[str, Any]]:
        self._finish(state)
        state.history = []
        self._played_json.pop(state.instance_id, None)
        state.input = input_text
        state.execution_id = uuid.uuid4().hex
        state.next_sequence_id = 0
        state.known_action_count = 0
        state.runtime_status = RUNNING
        state.inbox.insert(0, self._execution_started(state, input_text))
        return []

    async def _terminate_now(self, state: InstanceState) -> None:
        now = self.clock.now()
        command = next(e for e in state.inbox if e["EventType"] == EventType.EXECUTION_TERMINATED)
        state.inbox = []
        state.runtime_status = TERMINATED
        state.output = command.get("Input")
        self._finish(state)
        command["IsPlayed"] = True
        command["Timestamp"] = format_timestamp(now)
        # DurableTask.Core closes a terminated execution with ExecutionCompleted(Terminated).
        new_events = [
            command,
            make_event(
                EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=5, Result=state.output
            ),
        ]
        state.history.extend(new_events)
        self._played_json.pop(state.instance_id, None)
        await self._save(state, new_events)
        log.info("orchestrator %s (%s): terminated", state.name, state.instance_id)
        self._after_save(state, [])

    async def _set_suspended(self, state: InstanceState, kind: EventType) -> None:
        command = next(e for e in state.inbox if e["EventType"] == kind)
        state.inbox.remove(command)
        command["IsPlayed"] = True
        state.runtime_status = SUSPENDED if kind == EventType.EXECUTION_SUSPENDED else RUNNING
        state.history.extend([command])
        self._played_json.pop(state.instance_id, None)
        await self._save(state, [command])

    def _execution_started(self, state: InstanceState, input_text: str | None) -> dict[str, Any]:
        parent = None
        if state.parent_instance_id:
            parent = {
                "OrchestrationInstance": {"InstanceId": state.parent_instance_id},
                "TaskScheduleId": state.parent_task_id,
            }
        return make_event(
            EventType.EXECUTION_STARTED,
            self.clock.now(),
            Name=state.name,
            Version=state.version,
            Input=input_text,
            ParentInstance=parent,
        )

    # ----------------------------------------------------------------- after a save

    async def _save(
        self, state: InstanceState, new_events: list[dict[str, Any]], history_reset: bool = False
    ) -> None:
        state.last_updated_time = self.clock.now()
        events = list(state.history) if history_reset else new_events
        for attempt in range(SAVE_ATTEMPTS):
            try:
                await self.store.save(state, events, history_reset=history_reset)
                break
            except Exception:
                # A storage hiccup must not strand the instance: the state in memory is ahead
                # of the store until a save succeeds, so retry before giving up.
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
                log.warning("saving %s failed; retrying", state.instance_id, exc_info=True)
                await asyncio.sleep(0.05 * 2**attempt)
        changed = self._instance_changed.pop(state.instance_id, None)
        if changed is not None:
            changed.set()
        self._signal_change()

    def _after_save(self, state: InstanceState, to_dispatch: list[PendingWork]) -> None:
        for work in [] if state.is_terminal else to_dispatch:
            self._dispatch(state, work)
        if state.is_terminal:
            self._notify_parent(state)

    def _dispatch(self, state: InstanceState, work: PendingWork) -> None:
        """Set scheduled work going: run an activity, arm a timer, or start a child."""
        if work.kind == "activity":
            self._dispatch_activity(state, work)
        elif work.kind in ("timer", "retry_timer"):
            self._arm_timer(state, work)
        elif work.kind == "suborchestration":
            self._spawn(self._ensure_child(state, work))

    def _notify_parent(self, child: InstanceState) -> None:
        if not child.parent_instance_id or child.parent_task_id is None:
            return
        parent = self._instances.get(child.parent_instance_id)
        if parent is None or parent.is_terminal:
            return
        work = parent.pending.get(str(child.parent_task_id))
        if work is None or work.child_instance_id != child.instance_id:
            return
        now = self.clock.now()
        if child.runtime_status == COMPLETED:
            event = make_event(
                EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
                now,
                TaskScheduledId=child.parent_task_id,
                Result=child.output,
            )
        else:
            reason = json.loads(child.output) if child.output else child.runtime_status
            event = make_event(
                EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
                now,
                TaskScheduledId=child.parent_task_id,
                Reason=str(reason),
                Details=f"Sub-orchestration '{child.instance_id}' {child.runtime_status}",
            )
        self._enqueue(parent, event)

    async def _ensure_child(self, parent: InstanceState, work: PendingWork) -> None:
        """Start a sub-orchestration (idempotent: after a crash it may already exist)."""
        child_id = work.child_instance_id or ""
        child = self._instances.get(child_id)
        if (
            child is not None
            and child.parent_instance_id == parent.instance_id
            and (child.parent_task_id == work.task_id)
        ):
            if child.is_terminal:
                self._notify_parent(child)
            return
        try:
            await self.start_new(
                work.name, child_id, work.input, (parent.instance_id, work.task_id)
            )
        except TaskHubError as error:
            self._enqueue(
                parent,
                make_event(
                    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
                    self.clock.now(),
                    TaskScheduledId=work.task_id,
                    Reason=str(error),
                    Details=type(error).__name__,
                ),
            )

    def _arm_timer(self, state: InstanceState, work: PendingWork) -> None:
        fire_at = datetime.strptime(work.fire_at or "", "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=self.clock.now().tzinfo
        )
        execution_id = state.execution_id

        def fire() -> None:
            self._timers.pop((state.instance_id, work.task_id), None)
            if self._closed:
                return
            current = self._instances.get(state.instance_id)
            if current is None or current.execution_id != execution_id:
                return
            event = make_event(
                EventType.TIMER_FIRED, self.clock.now(), TimerId=work.task_id, FireAt=work.fire_at
            )
            self._enqueue(current, event)

        self._timers[(state.instance_id, work.task_id)] = self.clock.call_at(fire_at, fire)

    def _dispatch_activity(self, state: InstanceState, work: PendingWork) -> None:
        self._spawn(self._deliver_activity(state.instance_id, state.execution_id, work))

    async def _deliver_activity(
        self, instance_id: str, execution_id: str, work: PendingWork
    ) -> None:
        function = self.functions.activities.get(work.name)
        if function is None:
            outcome = ActivityOutcome(
                failed=True,
                reason=f"The activity function '{work.name}' doesn't exist.",
                details="",
            )
        else:
            outcome = await self._invoke_with_faults(instance_id, work, function)
        state = self._instances.get(instance_id)
        if state is None or state.execution_id != execution_id:
            return
        if outcome.failed:
            event = make_event(
                EventType.TASK_FAILED,
                self.clock.now(),
                TaskScheduledId=work.task_id,
                Reason=outcome.reason,
                Details=outcome.details,
            )
        else:
            event = make_event(
                EventType.TASK_COMPLETED,
                self.clock.now(),
                TaskScheduledId=work.task_id,
                Result=outcome.result,
            )
        self._enqueue(state, event)

    async def _invoke_with_faults(
        self, instance_id: str, work: PendingWork, function: Any
    ) -> ActivityOutcome:
        fault = self.faults.take(work.name)
        if fault == Fault.FAIL:
            log.info(
                "activity %s (%s#%d): failed by an injected fault",
                work.name,
                instance_id,
                work.task_id,
            )
            return ActivityOutcome(
                failed=True,
                reason=f"Activity function '{work.name}' failed: InjectedFault: devhost fault",
                details="",
            )
        if fault == Fault.DUPLICATE_CONCURRENT:
            first, _ = await asyncio.gather(
                self._invoke(instance_id, work, function, "delivery 1 of 2"),
                self._invoke(instance_id, work, function, "delivery 2 of 2"),
            )
            return first
        outcome = await self._invoke(instance_id, work, function, "")
        if fault == Fault.DUPLICATE:
            await self._invoke(instance_id, work, function, "duplicate delivery")
        elif fault == Fault.CRASH_AFTER_COMMIT:
            # The first run's result is lost with the "crashed" host; the restarted host
            # delivers the activity again and only that result is recorded.
            outcome = await self._invoke(instance_id, work, function, "redelivered after crash")
        return outcome

    async def _invoke(
        self, instance_id: str, work: PendingWork, function: Any, note: str
    ) -> ActivityOutcome:
        began = time.perf_counter()
        outcome = await self._runner.run(work.name, function, work.input)
        log.info(
            "activity %s (%s#%d)%s: %s in %.1f ms",
            work.name,
            instance_id,
            work.task_id,
            f" [{note}]" if note else "",
            "failed" if outcome.failed else "succeeded",
            (time.perf_counter() - began) * 1000,
        )
        return outcome


def played_json_of(events: list[dict[str, Any]]) -> str:
    """The events the SDK acts on, as the comma-joined JSON an episode's history starts with.

    The SDK parses every event it is given (a costly timestamp parse each) but acts only on
    these kinds; scheduling events and episode ends change nothing in its replay, so they are
    left out of the payload. Status queries still show the full history.
    """
    return ",".join(
        json.dumps(event, separators=(",", ":"))
        for event in events
        if event["EventType"] in REPLAYED_EVENT_TYPES
    )


def _joined(played: str, fresh: list[dict[str, Any]]) -> str:
    more = played_json_of(fresh)
    return f"{played},{more}" if played and more else played or more


def scheduled_event(work: PendingWork, now: datetime) -> dict[str, Any]:
    """The history event that records scheduling ``work`` (its EventId is the task id)."""
    if work.kind.endswith("timer"):
        return make_event(EventType.TIMER_CREATED, now, work.task_id, FireAt=work.fire_at)
    if work.kind == "suborchestration":
        return make_event(
            EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
            now,
            work.task_id,
            Name=work.name,
            InstanceId=work.child_instance_id,
            Input=work.input,
        )
    return make_event(EventType.TASK_SCHEDULED, now, work.task_id, Name=work.name, Input=work.input)
