"""The saga's public progress record, published as the orchestration's custom status."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from shared.saga.calls import Call, Settled, Settlement
from shared.saga.definition import (
    Entry,
    ParallelGroup,
    SagaDefinition,
    SagaDefinitionError,
    Step,
    StepKind,
)
from shared.saga.logs import Phase
from shared.saga.outcome import StepError
from shared.saga.record_text import clipped, json_units, text_units
from shared.saga.step_entries import fan_out_entry, is_fan_out, step_entry
from shared.saga.trail import Trail


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

# The host fails the orchestrator whose custom status, as JSON, exceeds 16 KB of UTF-16
# (the Durable extension's DurableOrchestrationContext.SetCustomStatus, with
# MaxCustomStatusPayloadSizeInKB = 16). Sizes here are in UTF-16 code units (2 bytes). Each
# text field has a cap; ``worst_case`` adds them up for a definition, and an order of 100
# lines stays under 12 KB (tests/unit/test_saga_status_size.py).
HOST_LIMIT_UNITS = 16 * 1024 // 2
CODE_UNITS = 40
STEP_MESSAGE_UNITS = 160  # a step's lastError: for people reading the raw record
# failure and attention, which the API shows: a 500-character approval comment fits whole
# unless it holds control characters (escaped as \uXXXX, 6 units each).
NOTICE_MESSAGE_UNITS = 1000
SUMMARY_UNITS = 256
_ATTEMPTS_SHOWN = 99_999  # steps past the pivot go on as long as an operator retries them


class _Slot:
    """Where one step's fields live: its own entry, or place ``index`` in a fan-out's arrays."""

    def __init__(self, entry: dict[str, Any], index: int | None = None) -> None:
        self.entry = entry
        self.index = index

    def get(self, field: str) -> Any:
        value = self.entry[field]
        return value if self.index is None else value[self.index]

    def put(self, field: str, value: Any) -> None:
        if self.index is None:
            self.entry[field] = value
        else:
            self.entry[field][self.index] = value

    def record_error(self, name: str, error: StepError) -> None:
        where = {} if self.index is None else {"member": name}
        self.entry["lastError"] = {**where, **_error_json(error, STEP_MESSAGE_UNITS)}


class Progress:
    """The record ``{"saga", "status", "steps", "failure", "attention", "summary"}``.

    ``steps`` has an entry ``{"name", "status", "attempts", "lastError"}`` per step and gate, and
    one per fan-out ``{"name", "members", "status": [...], "attempts": [...], "lastError"}``
    whose arrays hold each member's (``step_entries.step_list`` lists the steps one by one).
    ``failure`` is why the saga compensates, ``attention`` what an operator must fix
    (NeedsAttention), ``summary`` the definition's summary of the results so far (None without
    one). Codes and messages are clipped to a few hundred characters, so the record stays
    within the host's custom status limit. It is republished at every transition, and is never
    empty (the SDK cannot reset it)."""

    def __init__(self, context: Any, definition: SagaDefinition) -> None:
        self._context = context
        self._summarize = definition.summary
        self.trail = Trail(context, definition.name)
        self._undo_attempts: Counter[str] = Counter()  # the record counts forward attempts only
        self._slots: dict[str, _Slot] = {}
        entries: list[dict[str, Any]] = []
        pending = StepStatus.PENDING.value
        for entry in definition.steps:
            if isinstance(entry, ParallelGroup) and is_fan_out(entry):
                group = fan_out_entry(entry.name, len(entry.steps), pending)
                entries.append(group)
                for index, member in enumerate(entry.steps):
                    self._slots[member.name] = _Slot(group, index)
                continue
            for name in _member_names(entry):
                entries.append(step_entry(name, pending))
                self._slots[name] = _Slot(entries[-1])
        self.record: dict[str, Any] = {
            "saga": definition.name,
            "status": SagaStatus.RUNNING.value,
            "steps": entries,
            "failure": None,
            "attention": None,
            "summary": None,
        }
        if not context.is_replaying:  # a replay repeats the first episode, which checked it
            _check_fits(definition)
        self._publish()

    def summarize(self, saga_input: Any, results: Mapping[str, Any]) -> None:
        """Publish the definition's summary of what the steps so far returned (None, and a
        warning, when it is too big for the record)."""
        if self._summarize is None:
            return
        summary = self._summarize(saga_input, results)
        if json_units(summary) > SUMMARY_UNITS:
            self.trail.summary_dropped(self._phase, SUMMARY_UNITS)
            summary = None
        self.record["summary"] = summary
        self._publish()

    def attempts(self, name: str) -> int:
        return int(self._slots[name].get("attempts"))

    def set_status(self, status: SagaStatus, step: str | None = None) -> None:
        """Publish ``status`` (``step``: the gate or step it is about, for the log)."""
        if status != self.record["status"]:
            self.trail.status(status.value, self._phase, self._notice(status), step)
        self.record["status"] = status.value
        self._publish()

    def mark(self, name: str, status: StepStatus, error: StepError | None = None) -> None:
        slot = self._slots[name]
        slot.put("status", status.value)
        if error is not None:
            slot.record_error(name, error)
        self._publish()

    def fail(self, name: str, error: StepError) -> None:
        """Record why the saga stops going forward (the first failure wins)."""
        if self.record["failure"] is None:  # logged as the saga enters Compensating
            self.record["failure"] = {"step": name, **_error_json(error, NOTICE_MESSAGE_UNITS)}
        self._publish()

    def needs_attention(self, name: str, error: StepError) -> None:
        self.record["attention"] = {"step": name, **_error_json(error, NOTICE_MESSAGE_UNITS)}
        self.set_status(SagaStatus.NEEDS_ATTENTION)

    def resume(self, status: SagaStatus) -> None:
        self.record["attention"] = None
        self.set_status(status)

    def skip_unreached(self) -> None:
        for slot in self._slots.values():
            if slot.get("status") == StepStatus.PENDING:
                slot.put("status", StepStatus.SKIPPED.value)
        self._publish()

    # CallObserver: attempts and their outcomes, forward or compensating.
    def attempt_started(self, call: Call) -> None:
        slot = self._slots[call.name]
        if call.compensating:
            self._undo_attempts[call.name] += 1
            slot.put("status", StepStatus.COMPENSATING.value)
        else:
            slot.put("status", StepStatus.RUNNING.value)
            slot.put("attempts", slot.get("attempts") + 1)
        self._publish()

    def attempt_failed(self, call: Call, error: StepError) -> None:
        self.trail.attempt_failed(call, self._attempt(call), error)
        self._slots[call.name].record_error(call.name, error)
        self._publish()

    def settled(self, result: Settled) -> None:
        self.trail.settled(result, self._attempt(result.call))
        if result.call.compensating:
            if result.settlement is Settlement.SUCCEEDED:
                self.mark(result.call.name, StepStatus.COMPENSATED)
            return
        status = _FORWARD_STATUS.get(result.settlement, StepStatus.FAILED)
        self.mark(result.call.name, status, result.error)

    def _publish(self) -> None:
        self._context.set_custom_status(self.record)

    @property
    def _phase(self) -> Phase:
        # The failure is why the saga compensates: once recorded, the saga goes backward.
        return Phase.FORWARD if self.record["failure"] is None else Phase.COMPENSATING

    def _notice(self, status: SagaStatus) -> dict[str, Any] | None:
        """Why the saga enters ``status``, when that is worth a warning."""
        field = {SagaStatus.COMPENSATING: "failure", SagaStatus.NEEDS_ATTENTION: "attention"}
        notice: dict[str, Any] | None = self.record[field[status]] if status in field else None
        return notice

    def _attempt(self, call: Call) -> int:
        return self._undo_attempts[call.name] if call.compensating else self.attempts(call.name)


def _member_names(entry: Entry) -> list[str]:
    return [step.name for step in entry.steps] if isinstance(entry, ParallelGroup) else [entry.name]


def _error_json(error: StepError, message_units: int) -> dict[str, str]:
    return {
        "code": clipped(str(error.code), CODE_UNITS),
        "message": clipped(error.message, message_units),
    }


def worst_case(definition: SagaDefinition) -> dict[str, Any]:
    """The record of ``definition`` with every field as large as it can get."""
    status = max((value.value for value in StepStatus), key=len)
    error = {"code": "x" * CODE_UNITS, "message": "x" * STEP_MESSAGE_UNITS}
    steps: list[dict[str, Any]] = []
    for entry in definition.steps:
        if isinstance(entry, ParallelGroup) and is_fan_out(entry):
            group = fan_out_entry(entry.name, len(entry.steps), status)
            # A fan-out member runs forward once: its attempts never pass its policy's maximum.
            group["attempts"] = [member.retry.max_attempts for member in entry.steps]
            group["lastError"] = {"member": entry.steps[-1].name, **error}
            steps.append(group)
            continue
        members = entry.steps if isinstance(entry, ParallelGroup) else (entry,)
        for member in members:
            worst = step_entry(member.name, status)
            if isinstance(member, Step):
                compensatable = member.kind is StepKind.COMPENSATABLE
                worst["attempts"] = member.retry.max_attempts if compensatable else _ATTEMPTS_SHOWN
            worst["lastError"] = error
            steps.append(worst)
    names = [name for entry in definition.steps for name in _member_names(entry)]
    notice = {
        "step": max(names, key=text_units),
        "code": "x" * CODE_UNITS,
        "message": "x" * NOTICE_MESSAGE_UNITS,
    }
    return {
        "saga": definition.name,
        "status": max((value.value for value in SagaStatus), key=len),
        "steps": steps,
        "failure": notice,
        "attention": notice,
        "summary": "x" * (SUMMARY_UNITS - 2),
    }


def _check_fits(definition: SagaDefinition) -> None:
    """Refuse, before any step runs, a saga whose record could outgrow the host's limit (the
    host would fail it part-way, with nothing compensated)."""
    units = _worst_case_units(definition)
    if units > HOST_LIMIT_UNITS:
        raise SagaDefinitionError(
            f"saga {definition.name!r}: its progress record could reach {2 * units} bytes of "
            f"UTF-16, over the host's {2 * HOST_LIMIT_UNITS}-byte custom status limit; give "
            "its fan-outs fewer members, or its steps shorter names"
        )


@functools.lru_cache(maxsize=256)
def _worst_case_units(definition: SagaDefinition) -> int:
    # Every saga's first episode asks, and the answer depends on the definition alone (a
    # fan-out's expansion is a definition of its own): measured once per process, not per saga.
    return json_units(worst_case(definition))
