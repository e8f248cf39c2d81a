"""The saga activity wrapper: errors no retry can fix become the step's failure envelope."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from shared.errors import IdempotencyConflict, InvalidStepInput, SagaError
from shared.saga.logs import call_fields
from shared.saga.outcome import EngineCode, failure, parse_envelope

P = ParamSpec("P")
R = TypeVar("R")

# Clipped here already, so the envelope stays small in the history; the saga's record clips
# again (lastError 160, failure 1,000), and the log line has the whole text and the traceback.
MAX_MESSAGE_CHARS = 300

_log = logging.getLogger(__name__)


def saga_activity(activity: Callable[P, R]) -> Callable[P, R | dict[str, Any]]:
    """Put on every saga activity, between ``@bp.activity_trigger(...)`` and ``@chaotic``.

    The SDK hands the orchestrator an activity's exception as a plain Exception, so the engine
    would retry an error no retry can fix like a network fault. This wrapper turns those into
    ``failure(code, message)``, which the engine never retries (the saga compensates):

    - InvalidStepInput (a malformed call or input)          -> InvalidStepInput
    - IdempotencyConflict (the key served another request)  -> IdempotencyKeyReused
    - any other SagaError that is not ``retryable``
      (PermanentError, TransactionTooLarge, SettingsError)  -> PermanentFault

    Every other exception is re-raised unchanged and retried with backoff: retryable SagaErrors
    (TransientStorageError, ChaosFault) and errors the app did not classify, a plain ValueError
    included (an invariant broken in storage is for an operator, after the retries).

    The app's own errors translated here are raised before the ledger's batch is sent, so no
    record keeps the refusal and a later delivery (an operator's retry) runs afresh. Raise
    PermanentError before committing too: like a returned failure, it says the step failed, and
    a failed pivot is not undone.

    Each invocation leaves one log record carrying the saga's fields (``shared.saga.logs``):
    outcome ``succeeded``, ``failed`` (a failure envelope, with its code) or ``faulted`` (raised:
    the engine retries it; the host logs the traceback)."""

    name = getattr(activity, "__name__", type(activity).__name__)

    @functools.wraps(activity)  # the Functions worker binds the input by the parameter's name
    def invoke(*args: P.args, **kwargs: P.kwargs) -> R | dict[str, Any]:
        key, fields = _call_of(*args, *kwargs.values())
        try:
            result = activity(*args, **kwargs)
        except SagaError as error:
            code = permanent_code(error)
            if code is None:
                _faulted(name, key, fields, error)
                raise
            message = one_line(error)
            _log.error(
                "activity %s (key %r) failed permanently, not retried: %s: %s",
                name,
                key,
                code,
                message,
                exc_info=error,
                extra={**fields, "outcome": "failed", "code": str(code)},
            )
            return failure(code, message)
        except Exception as error:
            _faulted(name, key, fields, error)
            raise
        _replied(name, key, fields, result)
        return result

    return invoke


def _replied(name: str, key: str | None, fields: dict[str, Any], result: Any) -> None:
    error = parse_envelope(result).error
    if error is None:
        _log.info(
            "activity %s (key %r) succeeded",
            name,
            key,
            extra={**fields, "outcome": "succeeded"},
        )
        return
    _log.info(
        "activity %s (key %r) failed: %s: %s",
        name,
        key,
        error.code,
        error.message,
        extra={**fields, "outcome": "failed", "code": str(error.code)},
    )


def _faulted(name: str, key: str | None, fields: dict[str, Any], error: BaseException) -> None:
    _log.warning(
        "activity %s (key %r) raised, the engine retries it: %s: %s",
        name,
        key,
        type(error).__name__,
        one_line(error),
        extra={**fields, "outcome": "faulted"},
    )


def permanent_code(error: BaseException) -> EngineCode | None:
    """The failure code of an error no retry can fix, or None for one worth retrying."""
    if isinstance(error, InvalidStepInput):
        return EngineCode.INVALID_INPUT
    if isinstance(error, IdempotencyConflict):
        return EngineCode.KEY_REUSED
    if isinstance(error, SagaError) and not error.retryable:
        return EngineCode.PERMANENT_FAULT
    return None


def one_line(error: BaseException) -> str:
    """The error's message on one line (whitespace runs become one space), clipped with `…`."""
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


def call_key(*arguments: Any) -> str | None:
    """The idempotency key of the engine's call (`{"key", "input"}`) among the arguments."""
    return _call_of(*arguments)[0]


def _call_of(*arguments: Any) -> tuple[str | None, dict[str, Any]]:
    """The key of the engine's call among the arguments, and the saga fields it gives."""
    for argument in arguments:
        if isinstance(argument, dict) and isinstance(argument.get("key"), str):
            return str(argument["key"]), call_fields(argument)
    return None, {}
