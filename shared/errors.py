"""Errors the app raises on purpose; whether retrying can help is a property of each class.

SagaError                     base; `retryable` is False unless a subclass says otherwise
├── SettingsError             a configuration variable is malformed or missing   (variable)
├── SagaDefinitionError       a saga definition breaks a rule (shared.saga, also a ValueError)
├── StepFailed                a plain-code saga's step failed (shared.saga.chain)  (step, error)
├── InvalidStepInput          an activity's call or input is malformed (also a ValueError)
├── IdempotencyConflict       a key was reused for a different request           (key)
├── TransactionTooLarge       a unit of work exceeds a Table storage limit       (key, limit)
├── RecordMissing             a call too old to run found no record for its key  (key)
├── PermanentError            an activity's fault no retry can fix, declared so on purpose
├── TransientStorageError     storage cannot complete it now; retry later        (key)
│   └── ContentionExhausted   concurrent writers won every attempt               (key, attempts)
└── ChaosFault                a fault injected on purpose (shared.chaos; retryable)

In a saga activity (`shared.saga.activity.saga_activity`), a non-retryable SagaError ends the
step at its first attempt as a failure with its own code: InvalidStepInput -> InvalidStepInput,
IdempotencyConflict -> IdempotencyKeyReused, any other (PermanentError, TransactionTooLarge, ...)
-> PermanentFault. Every other exception, a plain ValueError included, is a fault the engine
retries with backoff: an activity that knows retrying is futile raises PermanentError.
"""

from __future__ import annotations

from typing import ClassVar


class SagaError(Exception):
    """Base of every error raised on purpose; `retryable` tells callers whether to try again."""

    retryable: ClassVar[bool] = False


class SettingsError(SagaError):
    """A configuration variable has a value it cannot accept; the message says what it accepts."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable


class InvalidStepInput(SagaError, ValueError):
    """The call an activity received, or the input in it, is malformed: the orchestrator's bug,
    which the same call can never get past (the message names the field)."""


class IdempotencyConflict(SagaError):
    """An idempotency key that already has a record was used again with a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different request")
        self.key = key


class TransactionTooLarge(SagaError):
    """A unit of work would exceed a Table storage limit, so it was not sent; split it instead."""

    def __init__(self, key: str, limit: str) -> None:
        super().__init__(f"transaction for idempotency key {key!r} exceeds {limit}")
        self.key = key
        self.limit = limit


class RecordMissing(SagaError):
    """A call issued longer ago than the retention found no record for its key: the record may
    have been purged, so running it could apply the step a second time. Refused, no effect."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"idempotency key {key!r} has no record and its call was issued longer ago than the "
            "retention (its record may have been purged): refused, nothing written"
        )
        self.key = key


class PermanentError(SagaError):
    """Raised by an activity on purpose for a fault retrying cannot fix, where it cannot simply
    return ``failure(code, message)``; the step fails at once with code PermanentFault."""


class TransientStorageError(SagaError):
    """Storage could not complete the operation now; the same call may succeed later."""

    retryable: ClassVar[bool] = True

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class ContentionExhausted(TransientStorageError):
    """Concurrent writers changed the rows a transaction read on every one of its attempts."""

    def __init__(self, key: str, partition: str, attempts: int) -> None:
        super().__init__(
            key,
            f"transaction for idempotency key {key!r} lost to concurrent writers in partition "
            f"{partition!r} {attempts} times in a row",
        )
        self.partition = partition
        self.attempts = attempts
