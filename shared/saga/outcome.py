"""The result envelope activities return, and the error codes the engine itself assigns.

An activity RETURNS ``ok(value)`` or ``failure(code, message)`` for every expected business
outcome (a failure is final: retrying cannot change it), and RAISES only for technical faults,
which the engine retries. The SDK hands the orchestrator every activity exception as a plain
``Exception`` whose text is recorded, never interpreted; so an error no retry can fix is turned
into a failure on the activity side, by ``shared.saga.activity.saga_activity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.saga.contract import to_wire


class EngineCode(StrEnum):
    """Failure codes the engine assigns when no activity returned one of its own (README, "Error
    codes", has the same table). Where a failure goes: a compensatable step's or the pivot's
    starts compensation; a retriable step's or a compensation's parks the saga in NeedsAttention
    until the operator's retry signal.

    Assigned by the orchestrator (shared.saga.attempts, runner, approval, chain):

    - ActivityFault: the activity raised on every attempt its RetryPolicy allows, each retried
      with backoff; the message is the last exception's first line.
    - StepTimedOut: no result within the step's ``timeout_seconds``, so the outcome is unknown
      (compensated like a done step). Not retried for a compensatable step; a compensation or a
      step past the pivot retries it like a fault, and ends with this code when out of tries.
    - MalformedResult: the activity returned something other than an envelope; not retried.
    - Cancelled: a Cancel request arrived before the pivot; the running step is not retried.
    - ApprovalRejected / ApprovalTimedOut: the approval gate's decision was no (the comment is
      the message) or did not come in time.
    - OrchestratorError: a plain-code saga's own code raised before the pivot; the saga
      compensates, then the instance fails with that exception.

    Assigned on the activity side by ``shared.saga.activity.saga_activity`` for errors no retry
    can fix; the engine never retries a failure envelope, so the step is attempted once:

    - InvalidStepInput: the call or its input is malformed (InvalidStepInput).
    - IdempotencyKeyReused: the step's key already served a different request
      (IdempotencyConflict).
    - PermanentFault: the activity raised PermanentError, or another non-retryable SagaError
      such as TransactionTooLarge.
    """

    ACTIVITY_FAULT = "ActivityFault"  # the activity raised on every attempt
    TIMED_OUT = "StepTimedOut"  # no result within the step's timeout: outcome unknown
    MALFORMED_RESULT = "MalformedResult"  # the activity returned something other than an envelope
    CANCELLED = "Cancelled"  # a Cancel request arrived before the pivot
    APPROVAL_REJECTED = "ApprovalRejected"  # the approver said no
    APPROVAL_TIMED_OUT = "ApprovalTimedOut"  # no decision within the gate's timeout
    # Errors no retry can fix: the step fails at its first attempt (see shared.saga.activity).
    INVALID_INPUT = "InvalidStepInput"  # the activity refused its input as malformed
    KEY_REUSED = "IdempotencyKeyReused"  # the step's key already served a different request
    PERMANENT_FAULT = "PermanentFault"  # the activity declared its error permanent
    # Plain-code sagas (shared.saga.chain): the saga's own code raised before the pivot; the
    # chain compensates, then the instance fails with that exception.
    ORCHESTRATOR_ERROR = "OrchestratorError"


@dataclass(frozen=True)
class StepError:
    """Why a step (or its compensation) did not succeed."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": str(self.code), "message": self.message}


@dataclass(frozen=True)
class Envelope:
    """A decoded activity result: a value, or a business error."""

    value: Any = None
    error: StepError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def ok(value: Any = None) -> dict[str, Any]:
    """The envelope of a successful local transaction (a contract model as its JSON)."""
    return {"ok": True, "value": to_wire(value)}


def failure(code: str, message: str) -> dict[str, Any]:
    """The envelope of an expected business failure (not retried; the saga compensates)."""
    return {"ok": False, "error": {"code": code, "message": message}}


def parse_envelope(result: Any) -> Envelope:
    """Decode what an activity returned; anything that is not an envelope is reported as a
    MalformedResult failure, so a broken activity still leads to compensation."""
    if isinstance(result, dict) and result.get("ok") is True:
        return Envelope(value=result.get("value"))
    if isinstance(result, dict) and result.get("ok") is False:
        error = result.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return Envelope(error=StepError(error["code"], str(error.get("message", ""))))
    return Envelope(
        error=StepError(EngineCode.MALFORMED_RESULT, f"not a result envelope: {result!r:.200}")
    )


def fault_message(error: BaseException) -> str:
    """The first line of an activity fault (the SDK joins reason and details with a newline)."""
    return str(error).strip().split("\n", 1)[0].strip() or type(error).__name__
