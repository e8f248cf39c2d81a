"""The task hub: runs orchestration instances through the SDK's replay protocol, durably.

One asyncio loop owns every instance. An instance is processed by at most one task at a time
(``_process``); each step delivers a batch of events to the orchestrator (one episode), decides
what its actions schedule (``devhost.decisions``), checkpoints the state
(``devhost.persistence``) and sets the work going (``devhost.dispatch``). With a checkpoint
delay, an episode that only scheduled activities and timers sets them going before its
checkpoint is written, as the Azure Storage provider sends messages before it commits history.
After a crash, ``start`` reloads every unfinished instance from its last checkpoint and
re-dispatches its outstanding work, so an activity that was running may run again, exactly as on
Azure. Client operations live in ``devhost.management``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost import decisions, versioning
from devhost.activities import ActivityInvoker, ActivityRunner
from devhost.app_loader import FunctionIndex
from devhost.clock import Clock
from devhost.config import HostConfig
from devhost.dispatch import Dispatcher
from devhost.episode import EpisodeResult, EpisodeRunner, InProcessEpisodes, build_payload
from devhost.executor import Replay, ReplayOutcome, resolve_name
from devhost.faults import FaultPlan
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
from devhost.limits import (
    custom_status_violation,
    unknown_function_message,
    unsupported_action,
)
from devhost.management import ManagementOperations
from devhost.persistence import Persistence
from devhost.store import InstanceStore

log = logging.getLogger("devhost")

# Work an episode may schedule and still have its checkpoint written a little later.
DEFERRABLE_WORK = frozenset({"activity", "timer"})
# (runtime status last written, status after the episode) for which its checkpoint may wait.
_DEFERRABLE_STATUS_CHANGES = frozenset({(RUNNING, RUNNING), (PENDING, RUNNING)})


@dataclass
class Replayed:
    outcome: ReplayOutcome
    custom_status_fits: bool


class TaskHub(ManagementOperations):
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
        checkpoint_delay: float = 0.0,
    ) -> None:
        self.functions = functions
        self.store = store
        self.clock = clock
        self.config = config or HostConfig()
        self.faults = faults or FaultPlan()
        self.persistence = Persistence(store, clock, checkpoint_delay, self.queue_delay)
        self._instances: dict[str, InstanceState] = {}
        self._queues: dict[str, decisions.Queue] = defaultdict(list)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._active: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.dispatcher = Dispatcher(
            self,
            functions,
            clock,
            self.faults,
            activity_runner or ActivityRunner(self.config.max_concurrent_activities),
            self._spawn,
        )
        self._episodes: EpisodeRunner = episode_runner or InProcessEpisodes()
        self._closed = False
        self._reported: set[tuple[str, str, str, str]] = set()
        # CPU spent inside orchestrator episodes (SDK replay + user code), per orchestrator.
        self.orchestrator_cpu_seconds: dict[str, float] = defaultdict(float)

    def queue_delay(self) -> float:
        """Seconds the oldest activity or episode has waited to run in a worker process, for its
        turn under host.json's limits or for a thread (0 when none waits, or when they run in
        this process)."""
        # One WorkerPool usually runs both: ask each runner once.
        runners = dict.fromkeys((self.dispatcher.runner, self._episodes))
        waits = (getattr(runner, "oldest_wait", None) for runner in runners)
        return max((wait() for wait in waits if wait is not None), default=0.0)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Open the store and resume every unfinished instance."""
        await self.store.open()
        loaded = await self.store.load_all()
        for state in loaded:
            self._instances[state.instance_id] = state
            for event in state.history:
                event["IsPlayed"] = True
        self.persistence.loaded(loaded)
        for state in list(self._instances.values()):
            if not state.is_terminal:
                self._recover(state)

    async def stop(self) -> None:
        self._closed = True
        self.dispatcher.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.persistence.close()
        self.dispatcher.runner.close()
        await self.store.close()

    def _recover(self, state: InstanceState) -> None:
        for work in state.pending.values():
            self.dispatcher.dispatch(state, work)
        if state.inbox:
            self._kick(state.instance_id)

    def is_idle(self) -> bool:
        """Nothing running or queued: only timers (or nothing) can make progress now."""
        return not self._tasks and not any(self._queues.values()) and not self.persistence.writing

    # ----------------------------------------------------------------- processing

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("devhost internal error", exc_info=task.exception())
        self.persistence.signal_change()

    def _kick(self, instance_id: str) -> None:
        if instance_id in self._active or self._closed:
            return
        self._active.add(instance_id)
        self._spawn(self._process(instance_id))

    def enqueue(self, state: InstanceState, event: dict[str, Any]) -> None:
        """Queue a completion event for ``state``'s current execution and process it."""
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
        if not versioning.matches(self.config, state.version):
            return await self._version_mismatch(state)
        batch, self._queues[instance_id] = decisions.next_batch(
            state, self._queues.get(instance_id, [])
        )
        if not batch:
            return False
        await self._run_episode(state, batch)
        return True

    async def _run_episode(self, state: InstanceState, batch: list[dict[str, Any]]) -> None:
        now = self.clock.now()
        stamp = format_timestamp(now)
        started = make_event(EventType.ORCHESTRATOR_STARTED, now)
        for event in batch:
            event["Timestamp"] = stamp
            event["IsPlayed"] = False
        for event in batch:
            self._forget_timer_of(state, event)

        name = resolve_name(self.functions.orchestrators, state.name)
        began = time.perf_counter()
        if name is None:
            result = EpisodeResult(
                error=unknown_function_message(
                    self.functions.orchestrators, state.name, "orchestrator"
                )
            )
        else:
            played = self.persistence.played_json(state)
            history_json = "[" + decisions.joined(played, [started, *batch]) + "]"
            payload = build_payload(
                state.instance_id, state.input, state.parent_instance_id, history_json
            )
            handler = self.functions.orchestrators[name]
            result, cpu_seconds = await self._episodes.run_episode(name, handler, payload)
            self.orchestrator_cpu_seconds[name] += cpu_seconds
        elapsed_ms = (time.perf_counter() - began) * 1000

        replayed = self._replay(state, result, [started, *batch])
        if replayed.custom_status_fits:
            if result.has_custom_status:
                state.custom_status = json.dumps(result.custom_status)
            elif any(e["EventType"] == EventType.ORCHESTRATOR_COMPLETED for e in state.history):
                # The SDK omits a falsy status; the host then records none (it clears). Only the
                # first episode after continue-as-new keeps the generation before's.
                state.custom_status = None
        decided = replayed.outcome
        new_events = [started, *batch]
        to_dispatch = self._take_decisions(state, decided, now, new_events)
        new_events.append(make_event(EventType.ORCHESTRATOR_COMPLETED, now))
        history_reset = False
        outcome = "awaiting"
        if decided.ended and decided.failure is not None:
            outcome = "failed"
            self._fail(state, now, new_events, decided.failure)
        elif decided.ended and decided.continued:
            outcome = "continued as new"
            self._continue_as_new(state, decided.continue_input, decided.carried_events)
            new_events, to_dispatch, history_reset = [], [], True
        elif decided.ended:
            outcome = "completed"
            self._complete(state, now, new_events, result.output)
        elif result.is_done or result.error is not None:
            outcome = f"returned; {len(decided.open_ids)} task(s) it scheduled still open"
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
            await self.persistence.save(state, [], history_reset=True)
        else:
            if not state.is_terminal:
                self.persistence.append_played(state, new_events)
            state.history.extend(new_events)
            if self._may_defer(state, to_dispatch):
                self.persistence.defer(state, new_events)
            else:
                await self.persistence.save(state, new_events)
        self._after_save(state, to_dispatch)

    def _may_defer(self, state: InstanceState, to_dispatch: list[PendingWork]) -> bool:
        """Whether this episode's checkpoint may wait (see Persistence): only while the instance
        goes on running (an ending is written at once; the first episode's Pending to Running
        may wait, as it shows on Azure only once that episode's checkpoint is committed) and
        what it scheduled stays inside the instance. A start of another instance, or an ending
        its parent hears of, is written first, so no other instance ever acts on something a
        crash could take back."""
        if self.persistence.checkpoint_delay <= 0 or state.is_terminal:
            return False
        written = self.persistence.published.get(state.instance_id)
        return (
            written is not None
            and (written.runtime_status, state.runtime_status) in _DEFERRABLE_STATUS_CHANGES
            and all(work.kind in DEFERRABLE_WORK for work in to_dispatch)
        )

    def _replay(
        self, state: InstanceState, result: EpisodeResult, fresh: list[dict[str, Any]]
    ) -> Replayed:
        """Run the host's side of the episode over the whole history (see devhost.executor)."""
        immediate = unsupported_action(result.actions)
        if result.crashed:
            immediate = f"Orchestrator function '{state.name}' failed: {result.error}"
        if immediate is not None:
            failure = ReplayOutcome(created=[], open_ids=set(), ended=True, failure=immediate)
            return Replayed(failure, custom_status_fits=True)
        failure_text = None
        if result.error is not None:
            failure_text = f"Orchestrator function '{state.name}' failed: {result.error}"
        replay = Replay(
            self.functions,
            state.execution_id,
            result.top_actions,
            failure_text,
            finished=result.is_done or result.error is not None,
            instance_ids=tuple(filter(None, (state.instance_id, state.parent_instance_id))),
        )
        too_big = (
            custom_status_violation(result.custom_status) if result.has_custom_status else None
        )
        if too_big is not None:
            # The shim sets the status before it replays anything, so the error stops it there.
            replay.fail_before_replay(
                too_big
                if result.error
                else f"Orchestrator function '{state.name}' failed: {too_big}"
            )
        outcome = replay.run([*state.history, *fresh])
        for name, refusal in sorted(replay.refused):
            self._report_refused(state, name, refusal)
        return Replayed(outcome, custom_status_fits=too_big is None)

    def _take_decisions(
        self,
        state: InstanceState,
        decided: ReplayOutcome,
        now: datetime,
        new_events: list[dict[str, Any]],
    ) -> list[PendingWork]:
        """Record the tasks this episode created and drop the ones no longer open."""
        for key, work in list(state.pending.items()):
            if work.task_id not in decided.open_ids:
                del state.pending[key]
                self.dispatcher.cancel_timer(state.instance_id, work.task_id)
        to_dispatch = []
        for task in decided.created:
            work = PendingWork(
                kind=task.kind,
                task_id=task.task_id,
                name=task.name,
                input=task.input,
                fire_at=task.fire_at,
                child_instance_id=task.child_instance_id,
                max_attempts=task.max_attempts,
                version=task.version,
            )
            new_events.append(decisions.scheduled_event(work, now))
            if task.task_id in decided.open_ids:
                state.pending[str(task.task_id)] = work
                to_dispatch.append(work)
        return to_dispatch

    def _forget_timer_of(self, state: InstanceState, event: dict[str, Any]) -> None:
        kind = EventType(event["EventType"])
        if kind in decisions.COMPLETION_EVENTS:
            id_key, _ = decisions.COMPLETION_EVENTS[kind]
            self.dispatcher.forget_timer(state.instance_id, int(event[id_key]))

    def _report_refused(self, state: InstanceState, name: str, refusal: str) -> None:
        key = (state.instance_id, state.execution_id, name, refusal)
        if key in self._reported:
            return
        self._reported.add(key)
        log.error(
            "orchestrator %s (%s) calls '%s', which the host refuses: %s As on Azure, nothing "
            "is scheduled and the instance waits for it for ever.",
            state.name,
            state.instance_id,
            name,
            refusal,
        )

    def _after_save(self, state: InstanceState, to_dispatch: list[PendingWork]) -> None:
        for work in [] if state.is_terminal else to_dispatch:
            self.dispatcher.dispatch(state, work)
        if state.is_terminal:
            self.dispatcher.notify_parent(state)

    async def _version_mismatch(self, state: InstanceState) -> bool:
        """TaskOrchestrationDispatcher: fail the instance without running it, or (Reject) leave
        it untouched for a worker of a compatible version."""
        if not versioning.fails_on_mismatch(self.config):
            key = (state.instance_id, state.execution_id, "version", str(state.version))
            if key not in self._reported:
                self._reported.add(key)
                log.warning(
                    "orchestrator %s (%s): version %r does not match this host's defaultVersion "
                    "%r (versionMatchStrategy %s); it waits, untouched, for a compatible host",
                    state.name,
                    state.instance_id,
                    state.version,
                    self.config.default_version,
                    self.config.version_match_strategy,
                )
            return False
        now = self.clock.now()
        new_events = [make_event(EventType.ORCHESTRATOR_STARTED, now), *state.inbox]
        state.inbox = []
        self._fail(state, now, new_events, versioning.MISMATCH_OUTPUT)
        for event in new_events:
            event["IsPlayed"] = True
        state.history.extend(new_events)
        await self.persistence.save(state, new_events)
        log.info("orchestrator %s (%s): failed, version mismatch", state.name, state.instance_id)
        self._after_save(state, [])
        return True

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
        self, state: InstanceState, now: datetime, new_events: list[dict[str, Any]], message: str
    ) -> None:
        """End the instance as Failed; ``message`` is its output, as the host words it."""
        state.output = json.dumps(message)
        state.runtime_status = FAILED
        new_events.append(
            make_event(
                EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=3, Result=state.output
            )
        )
        self._finish(state)

    def _finish(self, state: InstanceState) -> None:
        for work in state.pending.values():
            self.dispatcher.cancel_timer(state.instance_id, work.task_id)
        state.pending.clear()
        self._queues.pop(state.instance_id, None)
        self.persistence.forget_played(state.instance_id)

    def _continue_as_new(
        self, state: InstanceState, input_text: Any, carried: list[dict[str, Any]]
    ) -> None:
        """Start the next generation; events raised after continue_as_new carry over to it."""
        self._finish(state)
        state.history = []
        # The SDK sends the new input's JSON text; the host keeps that text as a JSON string.
        state.input = None if input_text is None else json.dumps(input_text)
        state.execution_id = uuid.uuid4().hex
        state.runtime_status = RUNNING
        state.created_time = self.clock.now()
        for event in reversed(carried):
            state.inbox.insert(0, {**event, "IsPlayed": False})
        state.inbox.insert(0, self._execution_started(state, input_text))

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
        await self.persistence.save(state, new_events)
        log.info("orchestrator %s (%s): terminated", state.name, state.instance_id)
        self._after_save(state, [])

    async def _set_suspended(self, state: InstanceState, kind: EventType) -> None:
        command = next(e for e in state.inbox if e["EventType"] == kind)
        state.inbox.remove(command)
        command["IsPlayed"] = True
        state.runtime_status = SUSPENDED if kind == EventType.EXECUTION_SUSPENDED else RUNNING
        if command.get("Reason"):
            # AzureTableTrackingStore writes the suspend (or resume) reason as the output.
            state.output = command["Reason"]
        state.history.extend([command])
        self.persistence.forget_played(state.instance_id)
        await self.persistence.save(state, [command])

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
