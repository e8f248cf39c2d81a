"""Replays one execution's history the way the Durable extension and DurableTask.Core do.

Each episode the SDK hands back every action its orchestrator has taken so far. On Azure the
extension's out-of-process shim (``OutOfProcOrchestrationShim.ProcessAsyncActionsV2``) feeds
that list into DurableTask.Core one action at a time, awaiting each before it issues the next,
and swallowing the failures of what it awaits. Core (``TaskOrchestrationExecutor``,
``TaskOrchestrationContext``, ``RetryInterceptor``) processes the history in order, numbers each
task it creates, checks every scheduling event in the history against what the replay created
(the "Non-Deterministic workflow detected" failures), and ends the instance only once the
orchestrator has finished and no task it created is still open.

``replay`` does the same over devhost's history, from scratch each episode, so the sequence ids,
non-determinism failures, the moment later actions are scheduled, the moment the instance ends
and the events carried over by ``continue_as_new`` all come out as they do on Azure. Source
versions followed: Durable extension 3.x (bundle 4.x), DurableTask.Core 3.8-3.9.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType

from devhost.app_loader import FunctionIndex
from devhost.decisions import COMPLETION_EVENTS, FAILURE_EVENTS
from devhost.history import EventType, format_timestamp
from devhost.limits import unknown_function_message

log = logging.getLogger("devhost")

RETRY_CHILDREN = {ActionType.CALL_ACTIVITY_WITH_RETRY, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY}
SUB_ORCHESTRATIONS = {
    ActionType.CALL_SUB_ORCHESTRATOR,
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
}
# Core's action classes, as its non-determinism messages name them.
ACTION_CLASSES = {
    "activity": "ScheduleTaskOrchestratorAction",
    "timer": "CreateTimerOrchestratorAction",
    "suborchestration": "CreateSubOrchestrationAction",
}
CHANGED_CODE = (
    "Was a change made to the orchestrator code after this instance had already started running?"
)
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MAX_DELAY_MS = 6 * 24 * 3600 * 1000  # the Azure Storage provider's longest delay (6 days)


class NonDeterminism(Exception):
    """A scheduling event in the history contradicts what the replay created."""


class _Future:
    """A task the shim can await: resolved once, then runs its continuations."""

    __slots__ = ("_callbacks", "done", "failed")

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self._callbacks: list[Callable[[], None]] = []

    def resolve(self, failed: bool = False) -> None:
        if self.done:
            return
        self.done, self.failed = True, failed
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def then(self, callback: Callable[[], None]) -> None:
        if self.done:
            callback()
        else:
            self._callbacks.append(callback)


def _resolved() -> _Future:
    future = _Future()
    future.resolve()
    return future


def _all_of(futures: list[_Future]) -> _Future:
    combined = _Future()
    remaining = [sum(not future.done for future in futures)]
    if remaining[0] == 0:
        combined.resolve()
        return combined

    def one_done() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            combined.resolve()

    for future in futures:
        if not future.done:
            future.then(one_done)
    return combined


def _any_of(futures: list[_Future]) -> _Future:
    combined = _Future()
    if not futures:
        # Task.WhenAny of nothing throws; the shim swallows it and moves on.
        combined.resolve(failed=True)
    for future in futures:
        future.then(combined.resolve)
    return combined


@dataclass
class CreatedTask:
    """A task Core created during this replay (an entry of its orchestratorActionsMap)."""

    task_id: int
    kind: str  # activity | timer | suborchestration
    name: str = ""
    input: str | None = None
    fire_at: str | None = None
    child_instance_id: str | None = None
    version: str | None = None
    max_attempts: int = 1
    cancelled: bool = False
    future: _Future = field(default_factory=_Future)


@dataclass
class ReplayOutcome:
    """What the replay decided for this episode."""

    created: list[CreatedTask]  # tasks created in this episode (not yet in the history), by id
    open_ids: set[int]  # tasks still open, new or old
    ended: bool = False  # the orchestrator finished and nothing it created is open
    failure: str | None = None  # the instance fails with this output
    continue_input: Any = None
    continued: bool = False
    carried_events: list[dict[str, Any]] = field(default_factory=list)


class Replay:
    """One pass of Core's executor over an execution's history, driven by the SDK's actions."""

    def __init__(
        self,
        functions: FunctionIndex,
        execution_id: str,
        actions: list[dict[str, Any]],
        orchestrator_failure: str | None,
        finished: bool,
        instance_ids: tuple[str, ...] = (),
    ) -> None:
        self._functions = functions
        self._execution_id = execution_id
        # This instance's id and its parent's: a sub-orchestration may not take either.
        self._own_ids = {instance_id.casefold() for instance_id in instance_ids}
        self._actions = actions
        # The SDK raised (or the shim failed before replaying): thrown once every action is done.
        self._orchestrator_failure = orchestrator_failure
        self._finished = finished  # the SDK reported isDone (or an error)
        self._counter = 0
        self._unmatched: dict[int, CreatedTask] = {}
        self._tasks: dict[int, CreatedTask] = {}
        self._open: set[int] = set()
        self._waiters: dict[str, list[_Future]] = defaultdict(list)
        self._buffered: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._cursor = 0
        self._function_done = False
        self._continued = False
        self._continue_input: Any = None
        self._carried: list[dict[str, Any]] = []
        self._now = ""
        # Calls the extension refuses before scheduling them: (function name, its message).
        self.refused: set[tuple[str, str]] = set()

    # ----------------------------------------------------------------- the history

    def run(self, history: list[dict[str, Any]]) -> ReplayOutcome:
        try:
            for event in history:
                self._process(event)
        except NonDeterminism as error:
            return ReplayOutcome(created=[], open_ids=set(), ended=True, failure=str(error))
        created = sorted(self._unmatched.values(), key=lambda task: task.task_id)
        outcome = ReplayOutcome(created=created, open_ids=set(self._open))
        if self._function_done and not self._open:
            outcome.ended = True
            if self._orchestrator_failure is not None:
                outcome.failure = self._orchestrator_failure
            elif self._continued:
                outcome.continued = True
                outcome.continue_input = self._continue_input
                outcome.carried_events = self._carried
        return outcome

    def _process(self, event: dict[str, Any]) -> None:
        kind = event["EventType"]
        if kind == EventType.ORCHESTRATOR_STARTED:
            self._now = event["Timestamp"]
        elif kind == EventType.EXECUTION_STARTED:
            self._advance()
        elif kind in (
            EventType.TASK_SCHEDULED,
            EventType.TIMER_CREATED,
            EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        ):
            self._match(event)
        elif kind in COMPLETION_EVENTS:
            id_key, _ = COMPLETION_EVENTS[kind]
            self._complete(int(event[id_key]), kind in FAILURE_EVENTS)
        elif kind == EventType.EVENT_RAISED:
            self._raise(event)

    def _complete(self, task_id: int, failed: bool) -> None:
        task = self._tasks.get(task_id)
        if task is None or task_id not in self._open:
            return  # a duplicate, or for a cancelled timer: Core only traces it
        self._open.discard(task_id)
        task.future.resolve(failed)

    def _raise(self, event: dict[str, Any]) -> None:
        if self._continued:
            # Core hands events that arrive after ContinueAsNew to the next generation.
            self._carried.append(event)
            return
        name = str(event.get("Name", "")).casefold()
        waiters = self._waiters.get(name)
        if waiters:
            # The extension keeps waiters on a stack: the newest wait gets the event.
            waiters.pop().resolve()
        else:
            self._buffered[name].append(event)

    def _match(self, event: dict[str, Any]) -> None:
        task_id = int(event["EventId"])
        task = self._unmatched.pop(task_id, None)
        kind = event["EventType"]
        name = str(event.get("Name") or "")
        if kind == EventType.TASK_SCHEDULED:
            if task is None:
                raise NonDeterminism(
                    "Non-Deterministic workflow detected: A previous execution of this "
                    f"orchestration scheduled an activity task with sequence ID {task_id} and name "
                    f"'{name}' (version ''), but the current replay execution hasn't (yet?) "
                    f"scheduled this task. {CHANGED_CODE}"
                )
            prefix = (
                "Non-Deterministic workflow detected: A previous execution of this orchestration "
                f"scheduled an activity task with sequence number {task_id} named '{name}', but "
                "the current orchestration replay instead"
            )
            if task.kind != "activity":
                raise NonDeterminism(
                    f"{prefix} produced a {ACTION_CLASSES[task.kind]} action with this sequence "
                    f"number. {CHANGED_CODE}"
                )
            if task.name.casefold() != name.casefold():
                raise NonDeterminism(
                    f"{prefix} scheduled an activity task named '{task.name}' with this sequence "
                    f"number.  {CHANGED_CODE}"
                )
        elif kind == EventType.TIMER_CREATED:
            if task is None:
                raise NonDeterminism(
                    "Non-Deterministic workflow detected: A previous execution of this "
                    f"orchestration scheduled a timer task with sequence number {task_id} but the "
                    f"current replay execution hasn't (yet?) scheduled this task. {CHANGED_CODE}"
                )
            if task.kind != "timer":
                raise NonDeterminism(
                    "Non-Deterministic workflow detected: A previous execution of this "
                    f"orchestration scheduled a timer task with sequence number {task_id} named "
                    "but the current orchestration replay instead produced a "
                    f"{ACTION_CLASSES[task.kind]} action with this sequence number. {CHANGED_CODE}"
                )
        else:
            described = (
                "Non-Deterministic workflow detected: A previous execution of this orchestration "
                f"scheduled a sub-orchestration task with sequence ID {task_id} and name '{name}' "
                f"(version '', instance ID '{event.get('InstanceId') or ''}'), but the current "
            )
            if task is None:
                raise NonDeterminism(
                    f"{described}replay execution hasn't (yet?) scheduled this task. {CHANGED_CODE}"
                )
            if task.kind != "suborchestration":
                raise NonDeterminism(
                    f"{described}orchestration replay instead produced a "
                    f"{ACTION_CLASSES[task.kind]} action at this sequence number. {CHANGED_CODE}"
                )
            if task.name.casefold() != name.casefold():
                raise NonDeterminism(
                    f"{described}orchestration replay instead scheduled a sub-orchestration task "
                    f"with name {task.name} at this sequence number. {CHANGED_CODE}"
                )

    # ----------------------------------------------------------------- the shim

    def _advance(self) -> None:
        """Issue the SDK's actions in order, each once the one before it has completed."""
        if self._failed_before_replay:
            self._function_done = True
            return
        while self._cursor < len(self._actions):
            action = self._actions[self._cursor]
            self._cursor += 1
            future = self._invoke(action)
            if not future.done:
                future.then(self._advance)
                return
        self._function_done = self._finished

    _failed_before_replay = False

    def fail_before_replay(self, message: str) -> None:
        """The shim threw before replaying any action (e.g. a custom status over the limit)."""
        self._orchestrator_failure = message
        self._failed_before_replay = True
        self._finished = True

    def _invoke(self, action: dict[str, Any]) -> _Future:
        kind = action.get("actionType")
        if kind == ActionType.WHEN_ALL:
            return _all_of([self._invoke(child) for child in action.get("compoundActions", [])])
        if kind == ActionType.WHEN_ANY:
            return _any_of([self._invoke(child) for child in action.get("compoundActions", [])])
        if kind == ActionType.CREATE_TIMER:
            timer = self._create_timer(str(action.get("fireAt")))
            if action.get("isCanceled"):
                timer.cancelled = True
                self._open.discard(timer.task_id)
                timer.future.resolve(failed=True)
            return timer.future
        if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            return self._wait_for_event(str(action.get("externalEventName", "")))
        if kind == ActionType.CONTINUE_AS_NEW:
            self._continued = True
            self._continue_input = action.get("input")
            return _resolved()
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
            return self._call(action, "activity")
        if kind in SUB_ORCHESTRATIONS:
            return self._call(action, "suborchestration")
        raise ValueError(f"unsupported action type {kind}")

    def _wait_for_event(self, name: str) -> _Future:
        future = _Future()
        key = name.casefold()
        if self._buffered.get(key):
            self._buffered[key].popleft()
            future.resolve()
        else:
            self._waiters[key].append(future)
        return future

    def _call(self, action: dict[str, Any], kind: str) -> _Future:
        name = str(action.get("functionName", ""))
        registered = (
            self._functions.activities if kind == "activity" else self._functions.orchestrators
        )
        known = resolve_name(registered, name)
        refusal = (
            unknown_function_message(
                registered, name, "activity" if kind == "activity" else "orchestrator"
            )
            if known is None
            else self._refusal(action, kind)
        )
        if known is None or refusal is not None:
            assert refusal is not None
            # DurableOrchestrationContext.CallDurableTaskFunctionAsync throws before anything is
            # scheduled and the shim swallows the error, so the SDK waits for this task for
            # ever. Azure logs nothing; devhost's runtime reports ``refused`` loudly.
            self.refused.add((name, refusal))
            return _resolved()
        retry = action.get("retryOptions")
        if action.get("actionType") not in RETRY_CHILDREN or not retry:
            return self._attempt(action, kind, known).future
        return self._with_retries(action, kind, known, retry)

    def _refusal(self, action: dict[str, Any], kind: str) -> str | None:
        """The extension's argument checks on a call to a function that exists."""
        retry = action.get("retryOptions") or {}
        if int(retry.get("firstRetryIntervalInMilliseconds", 0)) > MAX_DELAY_MS:
            # AzureStorageDurabilityProvider.ValidateDelayTime.
            return "The Azure Storage provider supports a maximum of 6 days for time-based delays"
        child_id = action.get("instanceId")
        if kind == "suborchestration" and child_id:
            if str(child_id).casefold() in self._own_ids:
                return (
                    "The instance ID of a sub-orchestration must be different than the instance "
                    "ID of a parent orchestration."
                )
            if str(child_id).startswith("@"):
                return "Orchestration instance ids must not start with @."
        return None

    def _with_retries(
        self, action: dict[str, Any], kind: str, name: str, retry: dict[str, Any]
    ) -> _Future:
        """Core's RetryInterceptor: after a failure wait the interval and try again; after the
        last one, a timer that fires at once (kept for replay compatibility), then the error."""
        max_attempts = int(retry.get("maxNumberOfAttempts", 1))
        interval = timedelta(milliseconds=int(retry.get("firstRetryIntervalInMilliseconds", 0)))
        result = _Future()
        if max_attempts <= 0:
            result.resolve()
            return result

        def attempt(number: int) -> None:
            task = self._attempt(action, kind, name, max_attempts)

            def settled() -> None:
                if not task.future.failed:
                    result.resolve()
                    return
                last = number + 1 >= max_attempts
                delay = timedelta(0) if last else interval
                timer = self._create_timer(self._after(delay), max_attempts)
                if last:
                    timer.future.then(lambda: result.resolve(failed=True))
                else:
                    timer.future.then(lambda: attempt(number + 1))

            task.future.then(settled)

        attempt(0)
        return result

    def _attempt(
        self, action: dict[str, Any], kind: str, name: str, max_attempts: int = 1
    ) -> CreatedTask:
        task_id = self._next_id()
        child_id = None
        if kind == "suborchestration":
            # Core's default: the parent's execution id and the task's sequence number.
            child_id = action.get("instanceId") or f"{self._execution_id}:{task_id}"
        task = CreatedTask(
            task_id=task_id,
            kind=kind,
            name=str(action.get("functionName", "")),  # as the orchestrator spelled it
            input=action.get("input"),
            child_instance_id=child_id,
            version=action.get("version"),
            max_attempts=max_attempts,
        )
        self._register(task)
        return task

    def _create_timer(self, fire_at: str, max_attempts: int = 1) -> CreatedTask:
        task = CreatedTask(
            task_id=self._next_id(), kind="timer", fire_at=fire_at, max_attempts=max_attempts
        )
        self._register(task)
        return task

    def _register(self, task: CreatedTask) -> None:
        self._unmatched[task.task_id] = task
        self._tasks[task.task_id] = task
        self._open.add(task.task_id)

    def _next_id(self) -> int:
        task_id = self._counter
        self._counter += 1
        return task_id

    def _after(self, delay: timedelta) -> str:
        now = datetime.strptime(self._now, TIMESTAMP_FORMAT)
        return format_timestamp(now + delay)


def resolve_name(registered: dict[str, Any], name: str) -> str | None:
    """The registered spelling of a function name: the host matches names ignoring case."""
    if name in registered:
        return name
    folded = name.casefold()
    return next((known for known in registered if known.casefold() == folded), None)
