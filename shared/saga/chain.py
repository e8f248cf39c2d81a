"""Sagas as plain code: steps run one by one, and a ``finally`` compensates only a saga that failed.

::

    def order_steps(saga: SagaCode, order: dict) -> Generator[Any, Any, None]:
        try:
            yield from saga.step(CREATE_ORDER, {...})
            yield from saga.step(CHARGE, {...})
            yield from saga.step(SHIP, {...})  # the pivot: nothing is undone after it
        finally:
            yield from saga.compensations()

The SDK closes the orchestrator's generator at the end of EVERY episode, which runs that
``finally`` while GeneratorExit propagates; a yield there raises "generator ignored
GeneratorExit" and its action is lost. ``compensations()`` therefore looks at what is
propagating: nothing (the body finished: the saga completed), GeneratorExit (an episode ended:
do nothing), or an Exception (a step failed, a Cancel came, or the code itself raised: undo
every step scheduled so far, newest first, exactly once). Each step runs through the same
functions as the declarative engine (``run_saga``), so keys, retries, timeouts, Cancel,
approval, NeedsAttention and the progress record are the same.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable, Generator, Mapping
from typing import Any

from shared.errors import SagaError
from shared.saga.approval import pass_gate
from shared.saga.compensation import compensate
from shared.saga.definition import (
    ApprovalGate,
    Constant,
    Entry,
    FanOut,
    ParallelGroup,
    SagaDefinition,
    SagaDefinitionError,
    Step,
    StepKind,
)
from shared.saga.forward import StepRun, run_compensatable, run_past_pivot
from shared.saga.outcome import EngineCode, StepError
from shared.saga.signals import Signals
from shared.saga.status import Progress, SagaStatus

_NO_INPUT: Any = object()


class StepFailed(SagaError):
    """A step or approval gate of a plain-code saga did not succeed (``code`` says why; a
    Cancel request is ``EngineCode.CANCELLED``). Let it propagate to the ``finally``; catch it
    only to take another path (then the saga goes on, and compensates only if it fails later)."""

    def __init__(self, step: str, error: StepError) -> None:
        super().__init__(f"step {step!r} failed: {error.code}: {error.message}")
        self.step = step
        self.error = error

    @property
    def code(self) -> str:
        return str(self.error.code)


class SagaCode:
    """What a plain-code saga's body drives: ``step``, ``approval`` and ``compensations``.

    The definition lists the saga's steps (the progress record shows them all from the start,
    and its rules are checked when it is built); the body decides the order, the inputs and
    whether a step runs at all. Each entry runs at most once, since its name is its
    idempotency key, and no compensatable step may run after the pivot.
    """

    def __init__(self, context: Any, definition: SagaDefinition, saga_input: Any) -> None:
        self.input = saga_input
        self._name = definition.name
        self._declared = {entry.name: entry for entry in definition.steps}
        expanded = definition.for_input(saga_input)
        self._entries = {entry.name: entry for entry in expanded.steps}
        self._context = context
        self._progress = Progress(context, expanded)
        self._signals = Signals(context)
        self._run = StepRun(context, saga_input, self._progress, self._signals)
        self._started: list[str] = []
        self._to_undo: list[Entry] = []  # compensatable entries in the order they started
        self._past_pivot: str | None = None
        self._ended = False

    @property
    def results(self) -> Mapping[str, Any]:
        """The value of every step that succeeded so far, by name (fan-out members too)."""
        return self._run.results

    @property
    def ended(self) -> bool:
        """Whether ``compensations()`` has settled the saga (completed or compensated)."""
        return self._ended

    def step(
        self, step: Step | ParallelGroup | FanOut | str, step_input: Any = _NO_INPUT
    ) -> Generator[Any, Any, Any]:
        """Run a declared step (or parallel group, or fan-out) to its end; returns its value (a
        fan-out: its members' values in item order; a group: a dict by member). ``step_input``
        replaces the step's input builder. Raises StepFailed when it did not succeed."""
        entry = self._begin(step)
        if isinstance(entry, ApprovalGate):
            raise SagaDefinitionError(
                f"saga {self._name!r}: {entry.name!r} is an approval gate; use saga.approval()"
            )
        if step_input is not _NO_INPUT:
            if not isinstance(entry, Step):
                raise SagaDefinitionError(
                    f"saga {self._name!r}: {entry.name!r} is a group; its members build their "
                    "own inputs, so it takes no step_input"
                )
            entry = dataclasses.replace(entry, input=Constant(step_input))
        assert not isinstance(entry, FanOut)  # for_input expanded every fan-out
        if isinstance(entry, Step) and entry.kind is not StepKind.COMPENSATABLE:
            yield from self._run_past_pivot(entry)
        else:
            yield from self._run_compensatable(entry)
        return self._value_of(entry)

    def approval(
        self,
        gate: ApprovalGate | str,
        *,
        required: bool = True,
        timeout_seconds: float | None = None,
    ) -> Generator[Any, Any, dict[str, Any] | None]:
        """Wait for the gate's decision when ``required`` (else mark it Skipped); returns
        ``{"approved": True, "comment"}`` or None when skipped. The timeout defaults to the
        gate's own. Raises StepFailed on rejection, on timeout, or when a Cancel came."""
        entry = self._begin(gate)
        if not isinstance(entry, ApprovalGate):
            raise SagaDefinitionError(
                f"saga {self._name!r}: {entry.name!r} is not an approval gate; use saga.step()"
            )
        self._before_compensatable(entry.name)
        if timeout_seconds is None and required:
            timeout_seconds = entry.timeout_for(self.input)
        elif timeout_seconds is not None and timeout_seconds <= 0:
            raise SagaDefinitionError(
                f"saga {self._name!r}: approval {entry.name!r}: timeout {timeout_seconds!r} <= 0"
            )
        error = yield from pass_gate(
            self._context,
            entry,
            required,
            timeout_seconds or 0.0,
            self._run.results,
            self._progress,
            self._signals,
        )
        self._after_compensatable(entry.name, error)
        return self._run.results.get(entry.name)

    def compensations(self) -> Generator[Any, Any, None]:
        """The saga's ending; write it as ``finally: yield from saga.compensations()``.

        With nothing propagating, the body finished: the saga is Completed. With an Exception
        propagating before the pivot passed, every step scheduled so far is compensated, newest
        first (groups together), and the saga ends Compensated (Cancelled after a Cancel). With
        GeneratorExit propagating, the SDK is closing the generator at an episode's end, and
        nothing happens. It acts once: a second call does nothing."""
        propagating = sys.exception()  # read first: what the caller's ``finally`` is handling
        if self._ended or not isinstance(propagating, Exception | None):
            return
        self._ended = True
        if propagating is None:
            self._progress.skip_unreached()  # steps the code chose not to run
            self._progress.set_status(SagaStatus.COMPLETED)
            return
        if self._past_pivot is not None:
            # Past the point of no return nothing is undone; only the code itself can raise
            # here, and the instance fails with it, as the declarative engine's would.
            return
        self._progress.fail(*self._failure(propagating))
        self._progress.skip_unreached()
        self._progress.set_status(SagaStatus.COMPENSATING)
        yield from compensate(
            self._context,
            reversed(self._to_undo),
            self._run.inputs,
            self._progress,
            self._signals,
        )
        cancelled = self._signals.cancelled
        self._progress.set_status(SagaStatus.CANCELLED if cancelled else SagaStatus.COMPENSATED)

    def summary(self) -> dict[str, Any]:
        """The saga's output: its progress record and the values of the steps that succeeded."""
        return {**self._progress.record, "results": dict(self._run.results)}

    # ------------------------------------------------------------------ the steps' bookkeeping

    def _begin(self, ref: Entry | str) -> Entry:
        name = ref if isinstance(ref, str) else getattr(ref, "name", None)
        declared = self._declared.get(name) if isinstance(name, str) else None
        if declared is None or not (isinstance(ref, str) or ref is declared):
            raise SagaDefinitionError(
                f"saga {self._name!r} declares no step {ref!r:.200}; every step the code runs "
                f"must be one of the definition's entries: {', '.join(self._declared)}"
            )
        if self._ended:
            raise SagaDefinitionError(
                f"saga {self._name!r}: {declared.name!r} runs after the saga ended; "
                "saga.compensations() comes last, in the finally"
            )
        if declared.name in self._started:
            raise SagaDefinitionError(
                f"saga {self._name!r}: {declared.name!r} already ran; each step runs at most "
                "once (its name is its idempotency key)"
            )
        self._started.append(declared.name)
        return self._entries[declared.name]

    def _before_compensatable(self, name: str) -> None:
        if self._past_pivot is not None:
            raise SagaDefinitionError(
                f"saga {self._name!r}: {name!r} can be undone, but {self._past_pivot!r}, past "
                "the point of no return, already ran; compensatable steps and approval gates "
                "must come before the pivot"
            )
        if self._signals.cancelled:  # the code caught an earlier Cancel: still no new work
            raise StepFailed(name, _cancelled())

    def _after_compensatable(self, name: str, error: StepError | None) -> None:
        self._progress.summarize(self.input, self._run.results)
        if self._signals.cancelled:  # it came first: a failure stops the racing of Cancel
            error = _cancelled()
        if error is not None:
            raise StepFailed(name, error)

    def _run_compensatable(self, entry: Step | ParallelGroup) -> Generator[Any, Any, None]:
        self._before_compensatable(entry.name)
        self._to_undo.append(entry)
        failure = yield from run_compensatable(self._run, entry)
        if failure is None:
            self._after_compensatable(entry.name, None)
        else:
            self._after_compensatable(*failure)  # named after the member that failed

    def _run_past_pivot(self, step: Step) -> Generator[Any, Any, None]:
        self._signals.disarm_cancel()
        error = yield from run_past_pivot(self._run, step)
        self._progress.summarize(self.input, self._run.results)
        if error is not None:  # the pivot's business failure: nothing has passed it yet
            raise StepFailed(step.name, error)
        self._past_pivot = step.name
        self._to_undo.clear()

    def _value_of(self, entry: Entry) -> Any:
        declared = self._declared[entry.name]
        if isinstance(declared, FanOut):
            return declared.values(self._run.results)
        if isinstance(entry, ParallelGroup):
            return {member.name: self._run.results.get(member.name) for member in entry.steps}
        return self._run.results.get(entry.name)

    def _failure(self, propagating: Exception) -> tuple[str, StepError]:
        if isinstance(propagating, StepFailed):
            return propagating.step, propagating.error
        where = self._started[-1] if self._started else self._name
        self._progress.trail.code_raised(where, propagating)
        message = f"{type(propagating).__name__}: {propagating}"
        return where, StepError(EngineCode.ORCHESTRATOR_ERROR, message)


SagaBody = Callable[[SagaCode, Any], Generator[Any, Any, Any]]


def run_saga_code(
    context: Any, definition: SagaDefinition, saga_input: Any, body: SagaBody
) -> Generator[Any, Any, dict[str, Any]]:
    """Run a plain-code saga inside an orchestrator: ``return (yield from run_saga_code(...))``.

    ``body(saga, saga_input)`` is a generator function whose steps sit in a ``try`` and whose
    ``finally`` is ``yield from saga.compensations()``. Returns what ``run_saga`` returns: the
    final progress record plus ``results``. A StepFailed the chain compensated for ends the saga
    (Compensated or Cancelled); any other exception fails the instance after compensating."""
    saga = SagaCode(context, definition, saga_input)
    steps = body(saga, saga_input)
    if not inspect.isgenerator(steps):
        raise SagaDefinitionError(
            f"saga {definition.name!r}: the body must be a generator function (it runs its "
            "steps with `yield from saga.step(...)`)"
        )
    try:
        returned = yield from steps
    except StepFailed:
        if not saga.ended:
            raise _no_chain(definition) from None
        return saga.summary()
    if not saga.ended:
        raise _no_chain(definition)
    if returned is not None:
        raise SagaDefinitionError(
            f"saga {definition.name!r}: the body returned {returned!r:.100}; a saga's output is "
            "its progress record, so publish what clients need through the definition's summary"
        )
    return saga.summary()


def _no_chain(definition: SagaDefinition) -> SagaDefinitionError:
    return SagaDefinitionError(
        f"saga {definition.name!r}: the body ended without running its compensation chain; "
        "wrap its steps in `try:` and end with `finally: yield from saga.compensations()`"
    )


def _cancelled() -> StepError:
    return StepError(EngineCode.CANCELLED, "a Cancel request arrived")
