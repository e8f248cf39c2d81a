"""Episode inputs: which queued events an episode gets, and the history JSON the SDK is sent.

Pure bookkeeping on an ``InstanceState``: no I/O, no clock reads, no tasks. What an episode's
actions schedule is decided by ``devhost.executor``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from devhost.history import EventType, make_event
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
        elif kind == EventType.GENERIC_EVENT:
            batch.append(event)  # a rewind's wake-up: it makes the instance replay
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
