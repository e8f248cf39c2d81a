"""run_saga: drive a saga definition from an orchestrator, forward and, on failure, back."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from shared.saga.approval import pass_gate
from shared.saga.compensation import compensate
from shared.saga.definition import ApprovalGate, FanOut, SagaDefinition, Step, StepKind
from shared.saga.forward import StepRun, run_compensatable, run_past_pivot
from shared.saga.outcome import EngineCode, StepError
from shared.saga.signals import Signals
from shared.saga.status import Progress, SagaStatus


def run_saga(
    context: Any, definition: SagaDefinition, saga_input: Any
) -> Generator[Any, Any, dict[str, Any]]:
    """Run ``definition`` inside an orchestrator: ``result = yield from run_saga(...)``.

    Returns the final progress record plus ``results`` (each succeeded step's value). Status
    ends Completed, Compensated or Cancelled; while an operator is needed it is NeedsAttention.
    Nothing here catches exceptions: the SDK closes this generator at every episode end
    (GeneratorExit), and an engine bug must fail the instance, not look like a saga failure.
    """
    definition = definition.for_input(saga_input)
    progress = Progress(context, definition)
    signals = Signals(context)
    run = StepRun(context, saga_input, progress, signals)
    failure: tuple[str, StepError] | None = None
    for entry in definition.steps:
        if isinstance(entry, ApprovalGate):
            required = entry.required(saga_input, run.results)
            timeout_seconds = entry.timeout_for(saga_input) if required else 0.0
            error = yield from pass_gate(
                context, entry, required, timeout_seconds, run.results, progress, signals
            )
            failure = (entry.name, error) if error else None
        elif isinstance(entry, Step) and entry.kind is not StepKind.COMPENSATABLE:
            signals.disarm_cancel()
            error = yield from run_past_pivot(run, entry)
            failure = (entry.name, error) if error else None
        else:
            assert not isinstance(entry, FanOut)  # for_input expanded every fan-out
            failure = yield from run_compensatable(run, entry)
        progress.summarize(saga_input, run.results)
        if signals.cancelled:  # it came first: a failure stops the racing of Cancel
            failure = (entry.name, StepError(EngineCode.CANCELLED, "a Cancel request arrived"))
        if failure is not None:
            break
    if failure is None:
        progress.set_status(SagaStatus.COMPLETED)
        return _summary(progress, run)
    progress.fail(*failure)
    progress.skip_unreached()
    progress.set_status(SagaStatus.COMPENSATING)
    yield from compensate(context, reversed(definition.steps), run.inputs, progress, signals)
    progress.set_status(SagaStatus.CANCELLED if signals.cancelled else SagaStatus.COMPENSATED)
    return _summary(progress, run)


def _summary(progress: Progress, run: StepRun) -> dict[str, Any]:
    return {**progress.record, "results": dict(run.results)}
