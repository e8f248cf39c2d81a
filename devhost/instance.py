"""The persisted state of one orchestration instance: status, history and host bookkeeping."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

# Runtime statuses as the durable HTTP API spells them (the SDK's enum values).
PENDING: str = OrchestrationRuntimeStatus.Pending.value
RUNNING: str = OrchestrationRuntimeStatus.Running.value
COMPLETED: str = OrchestrationRuntimeStatus.Completed.value
CONTINUED_AS_NEW: str = OrchestrationRuntimeStatus.ContinuedAsNew.value
FAILED: str = OrchestrationRuntimeStatus.Failed.value
TERMINATED: str = OrchestrationRuntimeStatus.Terminated.value
SUSPENDED: str = OrchestrationRuntimeStatus.Suspended.value
CANCELED: str = OrchestrationRuntimeStatus.Canceled.value

TERMINAL_STATUSES = frozenset({COMPLETED, FAILED, TERMINATED, CANCELED})


@dataclass
class PendingWork:
    """One open task of an instance: an activity to run, a timer to fire or a sub-orchestration.

    ``kind`` is ``activity``, ``timer`` or ``suborchestration``; ``task_id`` is its sequence id.
    ``max_attempts`` > 1 marks the attempts and retry timers of a call with retry options.
    """

    kind: str
    task_id: int
    name: str = ""
    input: str | None = None
    fire_at: str | None = None
    child_instance_id: str | None = None
    max_attempts: int = 1
    version: str | None = None  # a sub-orchestration's version, when its parent asked for one


@dataclass
class InstanceState:
    """Everything the host knows about one instance; a store persists exactly this."""

    instance_id: str
    name: str
    input: str | None
    created_time: datetime
    last_updated_time: datetime
    runtime_status: str = PENDING
    execution_id: str = ""
    version: str | None = None  # the orchestration version; None when it has none
    output: str | None = None
    custom_status: str | None = None
    parent_instance_id: str | None = None
    parent_task_id: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    # Events accepted durably but not yet delivered to the orchestrator (external events, etc.).
    inbox: list[dict[str, Any]] = field(default_factory=list)
    # Tasks scheduled and not yet completed, keyed by str(sequence id).
    pending: dict[str, PendingWork] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.runtime_status in TERMINAL_STATUSES

    def to_json(self) -> str:
        """Serialise the bookkeeping (everything but the history) for a store."""
        # Shallow copies: dataclasses.asdict deep-copies and dominated the host's CPU profile.
        data = dict(vars(self))
        del data["history"]
        data["pending"] = {key: vars(work) for key, work in self.pending.items()}
        data["created_time"] = self.created_time.isoformat()
        data["last_updated_time"] = self.last_updated_time.isoformat()
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, history: list[dict[str, Any]]) -> InstanceState:
        data = json.loads(text)
        data["created_time"] = datetime.fromisoformat(data["created_time"])
        data["last_updated_time"] = datetime.fromisoformat(data["last_updated_time"])
        data["pending"] = {
            key: PendingWork(**_known(PendingWork, value)) for key, value in data["pending"].items()
        }
        # States saved by earlier devhost versions may carry bookkeeping it no longer keeps.
        return cls(history=history, **_known(cls, data))


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {item.name for item in fields(kind)}
    return {key: value for key, value in data.items() if key in names}
