"""Runs calls together, each with retries (backoff on durable timers) and a timeout, raced
against the saga's signals, until every call has settled."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from shared.saga.calls import Call, CallObserver, Settled, Settlement
from shared.saga.keys import stamped
from shared.saga.outcome import EngineCode, StepError, fault_message, parse_envelope
from shared.saga.signals import Signals
from shared.saga.timers import cancel_timer, start_timer


class _Run:
    def __init__(self, call: Call) -> None:
        self.call = call
        self.attempts = 0
        self.activity: Any = None
        self.deadline: Any = None
        self.backoff: Any = None
        self.last_error: StepError | None = None
        self.result: Settled | None = None

    def waits(self) -> dict[Any, tuple[_Run, str]]:
        if self.backoff is not None:
            return {self.backoff.task: (self, "backoff")}
        waits = {self.activity: (self, "activity")}
        if self.deadline is not None:
            waits[self.deadline.task] = (self, "deadline")
        return waits


def run_calls(
    context: Any,
    calls: Sequence[Call],
    observer: CallObserver,
    signals: Signals,
    *,
    fail_fast: bool,
    cancellable: bool,
) -> Generator[Any, Any, list[Settled]]:
    """Schedule every call at once and wait until all have settled (task_all would fail fast
    and hide which calls took effect). With ``fail_fast`` a failure, or a Cancel when
    ``cancellable``, stops further retries; activities already running are still awaited."""
    runs = [_Run(call) for call in calls]
    for run in runs:
        _start_attempt(context, run, observer)
    stopping = False
    while True:
        waits = {
            task: role for run in runs if run.result is None for task, role in run.waits().items()
        }
        if not waits:
            return [run.result for run in runs if run.result is not None]
        extras = signals.extras(cancellable and not stopping)
        if cancellable and signals.cancelled and not stopping:
            stopping = True
            _abandon_backoffs(runs, observer)
            continue
        winner = yield context.task_any([*waits, *extras])
        if signals.notice(winner):
            continue
        run, role = waits[winner]
        timer = run.backoff if role == "backoff" else run.deadline
        if role != "activity" and timer.rearmed(winner):
            continue  # one leg of a long timer ended: its next leg is armed
        if role == "backoff":
            run.backoff = None
            _start_attempt(context, run, observer)
        elif role == "deadline":
            run.deadline = None
            error = StepError(
                EngineCode.TIMED_OUT, f"no result within {run.call.timeout_seconds:g} s"
            )
            if run.call.retry_timeouts:
                _attempt_failed(context, run, error, Settlement.TIMED_OUT, observer, stopping)
            else:
                observer.attempt_failed(run.call, error)
                _settle(run, Settlement.TIMED_OUT, observer, error=error)
        else:
            _activity_done(context, run, winner.result, observer, stopping)
        failed = run.result is not None and run.result.settlement is not Settlement.SUCCEEDED
        if fail_fast and failed and not stopping:
            stopping = True
            _abandon_backoffs(runs, observer)


def _start_attempt(context: Any, run: _Run, observer: CallObserver) -> None:
    run.attempts += 1
    # Stamped per attempt: a retry, or an operator's retry weeks later, is a fresh call.
    payload = stamped(run.call.payload, context.current_utc_datetime, run.attempts)
    run.activity = context.call_activity(run.call.activity, payload)
    if run.call.timeout_seconds is not None:
        run.deadline = start_timer(context, run.call.timeout_seconds)
    observer.attempt_started(run.call)


def _activity_done(
    context: Any, run: _Run, result: Any, observer: CallObserver, stopping: bool
) -> None:
    cancel_timer(run.deadline)
    run.deadline = None
    if isinstance(result, Exception):  # task_any hands over a failed activity's exception
        error = StepError(EngineCode.ACTIVITY_FAULT, fault_message(result))
        _attempt_failed(context, run, error, Settlement.FAULTED, observer, stopping)
        return
    envelope = parse_envelope(result)
    if envelope.error is None:
        _settle(run, Settlement.SUCCEEDED, observer, value=envelope.value)
    else:
        observer.attempt_failed(run.call, envelope.error)
        _settle(run, Settlement.FAILED, observer, error=envelope.error)


def _attempt_failed(
    context: Any,
    run: _Run,
    error: StepError,
    final: Settlement,
    observer: CallObserver,
    stopping: bool,
) -> None:
    """A retryable failure: back off and try again, or settle as ``final`` when out of tries."""
    observer.attempt_failed(run.call, error)
    run.last_error = error
    if run.attempts < run.call.retry.max_attempts and not stopping:
        run.backoff = start_timer(context, run.call.retry.delay_seconds(run.attempts))
    else:
        _settle(run, final, observer, error=error)


def _abandon_backoffs(runs: list[_Run], observer: CallObserver) -> None:
    for run in runs:
        if run.result is None and run.backoff is not None:
            cancel_timer(run.backoff)
            run.backoff = None
            _settle(run, Settlement.ABANDONED, observer, error=run.last_error)


def _settle(
    run: _Run,
    settlement: Settlement,
    observer: CallObserver,
    value: Any = None,
    error: StepError | None = None,
) -> None:
    run.result = Settled(run.call, settlement, value, error)
    observer.settled(run.result)
