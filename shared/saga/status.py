"""The saga's public progress record, published as the orchestration's custom status."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from shared.saga.calls import Call, Settled, Settlement
from shared.saga.definition import ParallelGroup, SagaDefinition
from shared.saga.outcome import StepError

log = logging.getLogger("shared.saga")


class SagaStatus(StrEnum):
    RUNNING = "Running"
    AWAITING_APPROVAL = "AwaitingApproval"
    COMPENSATING = "Compensating"
    COMPLETED = "Completed"
    COMPENSATED = "Compensated"
    CANCELLED = "Cancelled"
    NEEDS_ATTENTION = "NeedsAttention"


class StepStatus(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    COMPENSATING = "Compensating"
    COMPENSATED = "Compensated"
    SKIPPED = "Skipped"


_FORWARD_STATUS = {
    Settlement.SUCCEEDED: StepStatus.SUCCEEDED,
    Settlement.TIMED_OUT: StepStatus.TIMED_OUT,
}


class Progress:
    """The record ``{"saga", "status", "steps": [{"name", "status", "attempts", "lastError"}],
    "failure", "attention", "summary"}``: one step entry per step, group member and gate;
    ``failure`` is why the saga compensates, ``attention`` what an operator must fix
    (NeedsAttention), ``summary`` the definition's summary of the results so far (None without
    one). It is republished at every transition, and is never empty (the SDK cannot reset it)."""

    def __init__(self, context: Any, definition: SagaDefinition) -> None:
        self._context = context
        self._summarize = definition.summary
        names: list[str] = []
        for entry in definition.steps:
            members = entry.steps if isinstance(entry, ParallelGroup) else (entry,)
            names.extend(member.name for member in members)
        self._steps: dict[str, dict[str, Any]] = {
            name: {
                "name": name,
                "status": StepStatus.PENDING.value,
                "attempts": 0,
                "lastError": None,
            }
            for name in names
        }
        self.record: dict[str, Any] = {
            "saga": definition.name,
            "status": SagaStatus.RUNNING.value,
            "steps": list(self._steps.values()),
            "failure": None,
            "attention": None,
            "summary": None,
        }
        self._publish()

    def summarize(self, saga_input: Any, results: Mapping[str, Any]) -> None:
        """Publish the definition's summary of what the steps so far returned."""
        if self._summarize is not None:
            self.record["summary"] = self._summarize(saga_input, results)
            self._publish()

    def attempts(self, name: str) -> int:
        return int(self._steps[name]["attempts"])

    def set_status(self, status: SagaStatus) -> None:
        if status != self.record["status"] and not self._context.is_replaying:
            log.info("saga %s (%s): %s", self.record["saga"], self._context.instance_id, status)
        self.record["status"] = status.value
        self._publish()

    def mark(self, name: str, status: StepStatus, error: StepError | None = None) -> None:
        self._steps[name]["status"] = status.value
        if error is not None:
            self._steps[name]["lastError"] = error.to_json()
        self._publish()

    def fail(self, name: str, error: StepError) -> None:
        """Record why the saga stops going forward (the first failure wins)."""
        if self.record["failure"] is None:
            self.record["failure"] = {"step": name, **error.to_json()}
            if not self._context.is_replaying:
                log.warning(
                    "saga %s (%s): step %s failed: %s: %s",
                    self.record["saga"],
                    self._context.instance_id,
                    name,
                    error.code,
                    error.message,
                )
        self._publish()

    def needs_attention(self, name: str, error: StepError) -> None:
        self.record["attention"] = {"step": name, **error.to_json()}
        self.set_status(SagaStatus.NEEDS_ATTENTION)

    def resume(self, status: SagaStatus) -> None:
        self.record["attention"] = None
        self.set_status(status)

    def skip_unreached(self) -> None:
        for step in self._steps.values():
            if step["status"] == StepStatus.PENDING:
                step["status"] = StepStatus.SKIPPED.value
        self._publish()

    # CallObserver: attempts and their outcomes, forward or compensating.
    def attempt_started(self, call: Call) -> None:
        step = self._steps[call.name]
        if call.compensating:
            step["status"] = StepStatus.COMPENSATING.value
        else:
            step["status"] = StepStatus.RUNNING.value
            step["attempts"] += 1
        self._publish()

    def attempt_failed(self, call: Call, error: StepError) -> None:
        self._steps[call.name]["lastError"] = error.to_json()
        self._publish()

    def settled(self, result: Settled) -> None:
        if result.call.compensating:
            if result.settlement is Settlement.SUCCEEDED:
                self.mark(result.call.name, StepStatus.COMPENSATED)
            return
        status = _FORWARD_STATUS.get(result.settlement, StepStatus.FAILED)
        self.mark(result.call.name, status, result.error)

    def _publish(self) -> None:
        self._context.set_custom_status(self.record)
