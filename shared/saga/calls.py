"""What the engine asks of an activity (a Call) and how that ended (Settled)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from shared.saga.definition import ActivityRef, RetryPolicy
from shared.saga.outcome import StepError


class Settlement(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a business failure: final
    FAULTED = "faulted"  # raised on every attempt allowed
    TIMED_OUT = "timed_out"  # no result in time: outcome unknown
    ABANDONED = "abandoned"  # waiting to retry when the group failed or the saga was cancelled


@dataclass(frozen=True)
class Call:
    """One activity to run; ``payload`` already carries the idempotency key."""

    name: str
    activity: ActivityRef
    payload: dict[str, Any]
    retry: RetryPolicy
    timeout_seconds: float | None = None
    compensating: bool = False
    # A timeout normally settles the call; idempotent calls that must learn their outcome
    # (compensations, and steps past the pivot) retry it like a fault instead.
    retry_timeouts: bool = False


@dataclass(frozen=True)
class Settled:
    call: Call
    settlement: Settlement
    value: Any = None
    error: StepError | None = None


class CallObserver(Protocol):
    """Told about every attempt and settlement (the progress record implements it)."""

    def attempt_started(self, call: Call) -> None: ...

    def attempt_failed(self, call: Call, error: StepError) -> None: ...

    def settled(self, result: Settled) -> None: ...
