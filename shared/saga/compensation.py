"""Backward recovery: undo every compensatable step that was scheduled, last first."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from typing import Any

from shared.saga.attempts import run_calls
from shared.saga.calls import Call, Settlement
from shared.saga.definition import Entry, ParallelGroup, Step, StepKind
from shared.saga.keys import compensation_payload
from shared.saga.outcome import StepError
from shared.saga.signals import Signals
from shared.saga.status import Progress, SagaStatus


def compensate(
    context: Any,
    newest_first: Iterable[Entry],
    inputs: Mapping[str, Any],
    progress: Progress,
    signals: Signals,
) -> Generator[Any, Any, None]:
    """Compensate, in the order given (newest first), each compensatable step whose action was
    scheduled at least once (a failed or timed-out one too: its outcome may be unknown, and
    compensating an action that never applied only leaves a tombstone). Members of a group run
    in parallel. Each compensation retries with backoff; if some still fail, the saga waits in
    NeedsAttention for the operator's RetryCompensation, then retries those same ones."""
    for entry in newest_first:
        if isinstance(entry, ParallelGroup):
            members: tuple[Step, ...] = tuple(entry.steps)
        elif isinstance(entry, Step) and entry.kind is StepKind.COMPENSATABLE:
            members = (entry,)
        else:
            continue
        pending = [step for step in members if progress.attempts(step.name) > 0]
        while pending:
            calls = [_undo(context.instance_id, step, inputs.get(step.name)) for step in pending]
            settled = yield from run_calls(
                context, calls, progress, signals, fail_fast=False, cancellable=False
            )
            stuck = [result for result in settled if result.settlement is not Settlement.SUCCEEDED]
            if not stuck:
                break
            stuck_names = {result.call.name for result in stuck}
            pending = [step for step in pending if step.name in stuck_names]
            error = stuck[0].error or StepError("CompensationFailed", "compensation failed")
            progress.needs_attention(stuck[0].call.name, error)
            yield signals.operator_retry()
            signals.operator_answered()
            progress.resume(SagaStatus.COMPENSATING)


def _undo(instance_id: str, step: Step, step_input: Any) -> Call:
    assert step.compensation is not None  # validated with the definition
    return Call(
        name=step.name,
        activity=step.compensation,
        payload=compensation_payload(instance_id, step.name, step_input),
        retry=step.compensation_retry or step.retry,
        timeout_seconds=step.timeout_seconds,
        compensating=True,
        retry_timeouts=True,
    )
