"""The approval gate: wait for a human decision, raced against a timeout and a Cancel."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from shared.json_text import decoded_once
from shared.saga.definition import ApprovalGate
from shared.saga.outcome import EngineCode, StepError
from shared.saga.signals import Signals
from shared.saga.status import Progress, SagaStatus, StepStatus
from shared.saga.timers import cancel_timer, start_timer


def pass_gate(
    context: Any,
    gate: ApprovalGate,
    required: bool,
    timeout_seconds: float,
    results: dict[str, Any],
    progress: Progress,
    signals: Signals,
) -> Generator[Any, Any, StepError | None]:
    """Wait up to ``timeout_seconds`` for the decision when ``required``. None when approved, not
    required, or interrupted by Cancel (``signals.cancelled``);
    otherwise the ApprovalRejected or ApprovalTimedOut error. Event data: ``{"approved": bool,
    "comment"?: str}``; anything else counts as a rejection, which is the safe reading."""
    if not required:
        progress.mark(gate.name, StepStatus.SKIPPED)
        return None
    progress.mark(gate.name, StepStatus.RUNNING)
    progress.set_status(SagaStatus.AWAITING_APPROVAL, gate.name)
    answer = context.wait_for_external_event(gate.event_name)
    deadline = start_timer(context, timeout_seconds)
    winner = None
    while winner is None:
        extras = signals.extras(cancellable=True)
        if signals.cancelled:
            break
        winner = yield context.task_any([answer, deadline.task, *extras])
        if signals.notice(winner) or deadline.rearmed(winner):
            winner = None
    if winner is None:  # cancelled
        cancel_timer(deadline)
        progress.mark(gate.name, StepStatus.SKIPPED)
        return None
    if winner is deadline.task:
        error = StepError(
            EngineCode.APPROVAL_TIMED_OUT, f"no decision within {timeout_seconds:g} s"
        )
        progress.mark(gate.name, StepStatus.TIMED_OUT, error)
        return error
    cancel_timer(deadline)
    decision = decoded_once(answer.result)
    comment = decision.get("comment") if isinstance(decision, dict) else None
    comment = comment if isinstance(comment, str) else None
    if isinstance(decision, dict) and decision.get("approved") is True:
        results[gate.name] = {"approved": True, "comment": comment}
        progress.mark(gate.name, StepStatus.SUCCEEDED)
        progress.set_status(SagaStatus.RUNNING, gate.name)
        return None
    if isinstance(decision, dict) and decision.get("approved") is False:
        message = comment or "the approver rejected it"
    else:
        message = f"unreadable decision {decision!r:.100}, taken as a rejection"
    error = StepError(EngineCode.APPROVAL_REJECTED, message)
    progress.mark(gate.name, StepStatus.FAILED, error)
    return error
