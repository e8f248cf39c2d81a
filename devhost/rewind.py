"""Rewind's history rewrite, as DurableTask.AzureStorage's RewindHistoryAsync does it.

Follows Tracking/AzureTableTrackingStore.cs (DurableTask.AzureStorage 2.9.0): in the failed
execution every TaskFailed and the TaskScheduled it answers, every SubOrchestrationInstanceFailed
and the failed ExecutionCompleted become GenericEvents (Reason ``Rewound: <type>``); a failed
sub-orchestration's SubOrchestrationInstanceCreated stays (only its Reason changes) and the child
is rewound too. On Azure the deepest failed instances then get a GenericEvent message and their
replay schedules the failed tasks again; devhost records that wake-up episode directly when it
knows what the replay schedules (the failed tasks), and otherwise queues the GenericEvent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost.history import EventType, make_event
from devhost.instance import InstanceState, PendingWork

FAILED_ORCHESTRATION_STATUS = 3  # DurableTask.Core.OrchestrationStatus.Failed


@dataclass
class RewindPlan:
    """What a rewind leaves to do after the history is rewritten."""

    work: list[PendingWork] = field(default_factory=list)  # failed tasks to run again
    failed_children: list[str] = field(default_factory=list)  # sub-orchestrations to rewind
    wake_up: dict[str, Any] | None = None  # a GenericEvent for the inbox, when a replay is due


def rewind_history(state: InstanceState, now: datetime, reason: str | None) -> RewindPlan:
    """Rewrite ``state.history`` in place and say what must run again."""
    scheduled = {
        int(event["EventId"]): event
        for event in state.history
        if event["EventType"]
        in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
    }
    plan = RewindPlan()
    for event in state.history:
        kind = EventType(event["EventType"])
        if kind == EventType.TASK_FAILED:
            origin = scheduled.get(int(event["TaskScheduledId"]))
            if origin is not None and origin["EventType"] == EventType.TASK_SCHEDULED:
                plan.work.append(_activity(origin))
                _to_generic(origin)
            _to_generic(event)
        elif kind == EventType.SUB_ORCHESTRATION_INSTANCE_FAILED:
            origin = scheduled.get(int(event["TaskScheduledId"]))
            if origin is not None:
                origin["Reason"] = (
                    f"Rewound: {_type_name(EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)}"
                )
                plan.work.append(_sub_orchestration(origin))
                plan.failed_children.append(str(origin.get("InstanceId")))
            _to_generic(event)
        elif (
            kind == EventType.EXECUTION_COMPLETED
            and event.get("OrchestrationStatus") == FAILED_ORCHESTRATION_STATUS
        ):
            _to_generic(event)
    generic = make_event(EventType.GENERIC_EVENT, now, Data=reason or "")
    # Only the deepest failed instances are woken up; the others replay when a child ends.
    woken = not plan.failed_children
    activities = [work for work in plan.work if work.kind == "activity"]
    if activities:
        # The replay schedules exactly the rewound tasks again: record that episode.
        state.history += [
            make_event(EventType.ORCHESTRATOR_STARTED, now),
            *([generic] if woken else []),
            *(
                make_event(EventType.TASK_SCHEDULED, now, w.task_id, Name=w.name, Input=w.input)
                for w in activities
            ),
            make_event(EventType.ORCHESTRATOR_COMPLETED, now),
        ]
        for event in state.history:
            event["IsPlayed"] = True
    elif woken:
        plan.wake_up = generic
    return plan


def _activity(origin: dict[str, Any]) -> PendingWork:
    return PendingWork(
        kind="activity",
        task_id=int(origin["EventId"]),
        name=str(origin.get("Name", "")),
        input=origin.get("Input"),
    )


def _sub_orchestration(origin: dict[str, Any]) -> PendingWork:
    return PendingWork(
        kind="suborchestration",
        task_id=int(origin["EventId"]),
        name=str(origin.get("Name", "")),
        input=origin.get("Input"),
        child_instance_id=origin.get("InstanceId"),
    )


def _to_generic(event: dict[str, Any]) -> None:
    event["Reason"] = f"Rewound: {_type_name(EventType(event['EventType']))}"
    event["EventType"] = int(EventType.GENERIC_EVENT)


def _type_name(kind: EventType) -> str:
    """DurableTask.Core's EventType name (``TaskFailed``)."""
    return "".join(part.capitalize() for part in kind.name.split("_"))
