"""Replay decisions: the events an episode gets, and what its actions schedule, with SDK ids.

Everything here is pure bookkeeping on an ``InstanceState``: no I/O, no clock reads, no tasks.
The runtime calls it around each episode and then persists and dispatches what it decided.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType

from devhost.episode import EpisodeResult
from devhost.history import EventType, format_timestamp, make_event
from devhost.instance import InstanceState, PendingWork

# Completion events: the key holding the id of the task they complete, and that task's kind.
COMPLETION_EVENTS = {
    EventType.TASK_COMPLETED: ("TaskScheduledId", "activity"),
    EventType.TASK_FAILED: ("TaskScheduledId", "activity"),
    EventType.TIMER_FIRED: ("TimerId", "timer"),
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: ("TaskScheduledId", "suborchestration"),
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: ("TaskScheduledId", "suborchestration"),
}
FAILURE_EVENTS = {EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED}
# The only events the SDK acts on when it replays; the rest never change what it does.
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
SCHEDULABLE_ACTIONS = {
    ActionType.CALL_ACTIVITY,
    ActionType.CALL_ACTIVITY_WITH_RETRY,
    ActionType.CALL_SUB_ORCHESTRATOR,
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
    ActionType.CREATE_TIMER,
}
SUB_ORCHESTRATOR_ACTIONS = {
    ActionType.CALL_SUB_ORCHESTRATOR,
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
}

Queue = list[tuple[str, dict[str, Any]]]


def next_batch(state: InstanceState, queue: Queue) -> tuple[list[dict[str, Any]], Queue]:
    """Events for one episode and the queue left over.

    Events that make the SDK hand out a retry id go one per episode and first, so the ids of new
    actions can be derived from their order.
    """
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
        return [], queue
    left: Queue = []
    for execution_id, event in queue:
        work = work_for(state, execution_id, event)
        if work is None:
            continue  # stale: a duplicate, or for a task that no longer waits
        if work.max_attempts > 1:
            if retry_event is None:
                retry_event = event
            else:
                left.append((execution_id, event))
            continue
        batch.append(event)
    state.inbox = kept_inbox
    if retry_event is not None:
        batch.insert(0, retry_event)
    return batch, left


def work_for(state: InstanceState, execution_id: str, event: dict[str, Any]) -> PendingWork | None:
    """The open task a completion event completes, or None when it is stale."""
    if execution_id != state.execution_id:
        return None
    id_key, kind = COMPLETION_EVENTS[EventType(event["EventType"])]
    work = state.pending.get(str(event[id_key]))
    if work is None or not work.kind.endswith(kind):
        return None
    return work


def account_completion(
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
    if work.max_attempts <= 1:
        return
    if kind in FAILURE_EVENTS:
        # A failed attempt: the SDK now waits for a retry timer (also after the last one).
        timer_id = next_id(state)
        fire_at = now + timedelta(milliseconds=work.retry_interval_ms)
        timer = dataclasses.replace(
            work, kind="retry_timer", task_id=timer_id, fire_at=format_timestamp(fire_at)
        )
        host_events.append(scheduled_event(timer, now))
        state.pending[str(timer_id)] = timer
        to_dispatch.append(timer)
    elif kind == EventType.TIMER_FIRED and work.attempt < work.max_attempts:
        task_id = next_id(state)
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


def cancelled_timers(state: InstanceState, result: EpisodeResult) -> list[int]:
    """Drop the open timers the orchestrator cancelled in this episode; returns their ids."""
    cancelled = []
    for work in list(state.pending.values()):
        index = work.action_index
        if (
            work.kind == "timer"
            and index is not None
            and index < len(result.actions)
            and result.actions[index].get("isCanceled")
        ):
            del state.pending[str(work.task_id)]
            cancelled.append(work.task_id)
    return cancelled


def schedule_actions(
    state: InstanceState,
    result: EpisodeResult,
    now: datetime,
    new_events: list[dict[str, Any]],
    to_dispatch: list[PendingWork],
) -> tuple[Any] | None:
    """Turn the actions added in this episode into scheduled work. Returns (new input,) when
    the orchestrator continued as new; sets ``result.error`` for an action devhost cannot run."""
    actions = result.actions
    continue_input: tuple[Any] | None = None
    for index in range(state.known_action_count, len(actions)):
        action = actions[index]
        action_type = action.get("actionType")
        if action_type == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            continue  # events are matched by name: no sequence id
        task_id = next_id(state)
        if action_type == ActionType.CONTINUE_AS_NEW:
            continue_input = (action.get("input"),)
            continue
        if action_type not in SCHEDULABLE_ACTIONS:
            result.error = (
                f"devhost does not support action type {action_type} "
                "(durable entities and call_http are not implemented)"
            )
            break
        work = work_for_action(state, action, index, task_id)
        new_events.append(scheduled_event(work, now))
        if action.get("isCanceled"):
            continue  # a timer created and cancelled in the same episode
        state.pending[str(task_id)] = work
        to_dispatch.append(work)
    state.known_action_count = len(actions)
    return continue_input


def work_for_action(
    state: InstanceState, action: dict[str, Any], index: int, task_id: int
) -> PendingWork:
    action_type = action["actionType"]
    if action_type == ActionType.CREATE_TIMER:
        return PendingWork(
            kind="timer", task_id=task_id, fire_at=action["fireAt"], action_index=index
        )
    retry = action.get("retryOptions") or {}
    is_sub = action_type in SUB_ORCHESTRATOR_ACTIONS
    return PendingWork(
        kind="suborchestration" if is_sub else "activity",
        task_id=task_id,
        name=action["functionName"],
        input=action.get("input"),
        child_instance_id=child_id(state, task_id, action.get("instanceId")) if is_sub else None,
        max_attempts=int(retry.get("maxNumberOfAttempts", 1)),
        retry_interval_ms=int(retry.get("firstRetryIntervalInMilliseconds", 0)),
        action_index=index,
    )


def next_id(state: InstanceState) -> int:
    task_id = state.next_sequence_id
    state.next_sequence_id += 1
    return task_id


def child_id(state: InstanceState, task_id: int, requested: str | None) -> str:
    return requested or f"{state.instance_id}:{task_id:04d}"


def open_timers(state: InstanceState) -> bool:
    return any(work.kind == "timer" for work in state.pending.values())


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


def joined(played: str, fresh: list[dict[str, Any]]) -> str:
    more = played_json_of(fresh)
    return f"{played},{more}" if played and more else played or more
