"""The result envelope activities return, and the error codes the engine itself assigns.

An activity RETURNS ``ok(value)`` or ``failure(code, message)`` for every expected business
outcome (a failure is final: retrying cannot change it), and RAISES only for technical faults,
which the engine retries. The SDK hands the orchestrator every activity exception as a plain
``Exception`` whose text is recorded, never interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EngineCode(StrEnum):
    """Failure codes the engine assigns when no activity returned one."""

    ACTIVITY_FAULT = "ActivityFault"  # the activity raised on every attempt
    TIMED_OUT = "StepTimedOut"  # no result within the step's timeout: outcome unknown
    MALFORMED_RESULT = "MalformedResult"  # the activity returned something other than an envelope
    CANCELLED = "Cancelled"
    APPROVAL_REJECTED = "ApprovalRejected"
    APPROVAL_TIMED_OUT = "ApprovalTimedOut"


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
    """The envelope of a successful local transaction."""
    return {"ok": True, "value": value}


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
