"""Forward recovery: run a step or a parallel group, and steps past the point of no return."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from shared.saga.attempts import run_calls
from shared.saga.calls import Call, Settled, Settlement
from shared.saga.definition import ParallelGroup, Step, StepKind
from shared.saga.keys import action_payload
from shared.saga.outcome import StepError
from shared.saga.signals import Signals
from shared.saga.status import Progress, SagaStatus

# Which settlement to report when several members of a group fail: the cause, not the members
# abandoned because of it.
_BLAME_ORDER = (Settlement.FAILED, Settlement.TIMED_OUT, Settlement.FAULTED, Settlement.ABANDONED)


class StepRun:
    """What the forward phase has learned so far: step inputs (compensations get them too)
    and the values of the steps that succeeded (later steps' inputs are built from them)."""

    def __init__(self, context: Any, saga_input: Any, progress: Progress, signals: Signals):
        self.context = context
        self.saga_input = saga_input
        self.progress = progress
        self.signals = signals
        self.inputs: dict[str, Any] = {}
        self.results: dict[str, Any] = {}

    def call(self, step: Step, retry_timeouts: bool = False) -> Call:
        now = self.context.current_utc_datetime
        step_input = step.build_input(self.saga_input, self.results, now)
        self.inputs[step.name] = step_input
        return Call(
            name=step.name,
            activity=step.action,
            payload=action_payload(self.context.instance_id, step.name, step_input),
            retry=step.retry,
            timeout_seconds=step.timeout_seconds,
            retry_timeouts=retry_timeouts,
        )


def run_compensatable(
    run: StepRun, entry: Step | ParallelGroup
) -> Generator[Any, Any, tuple[str, StepError] | None]:
    """Run a step, or all members of a group at once, raced against Cancel. Returns the failing
    member and its error, or None (also when cancelled: see ``signals.cancelled``)."""
    members = entry.steps if isinstance(entry, ParallelGroup) else (entry,)
    calls = [run.call(step) for step in members]
    settled = yield from run_calls(
        run.context, calls, run.progress, run.signals, fail_fast=True, cancellable=True
    )
    for result in settled:
        if result.settlement is Settlement.SUCCEEDED:
            run.results[result.call.name] = result.value
    failures = [result for result in settled if result.settlement is not Settlement.SUCCEEDED]
    if not failures:
        return None
    cause = min(failures, key=lambda result: _BLAME_ORDER.index(result.settlement))
    return cause.call.name, _error_of(cause)


def run_past_pivot(run: StepRun, step: Step) -> Generator[Any, Any, StepError | None]:
    """Run the pivot or a retriable step until its outcome is known. A timeout is retried like
    a fault (the idempotency key makes a repeat safe), since these steps cannot be undone.
    When retries run out, or a retriable step fails for a business reason, the saga waits in
    NeedsAttention for the operator's retry signal. Only the pivot's business failure is
    returned: nothing has passed the point of no return, so the saga compensates."""
    call = run.call(step, retry_timeouts=True)
    while True:
        [result] = yield from run_calls(
            run.context, [call], run.progress, run.signals, fail_fast=True, cancellable=False
        )
        if result.settlement is Settlement.SUCCEEDED:
            run.results[step.name] = result.value
            return None
        if result.settlement is Settlement.FAILED and step.kind is StepKind.PIVOT:
            return _error_of(result)
        run.progress.needs_attention(step.name, _error_of(result))
        yield run.signals.operator_retry()
        run.signals.operator_answered()
        run.progress.resume(SagaStatus.RUNNING)


def _error_of(result: Settled) -> StepError:
    return result.error or StepError(str(result.settlement), f"step {result.call.name} failed")
