"""Errors the app raises on purpose; whether retrying can help is a property of each class.

SagaError                     base; `retryable` is False unless a subclass says otherwise
├── SettingsError             a configuration variable is malformed or missing   (variable)
├── SagaDefinitionError       a saga definition breaks a rule (shared.saga, also a ValueError)
├── IdempotencyConflict       a key was reused for a different request           (key)
├── TransactionTooLarge       a unit of work exceeds a Table storage limit       (key, limit)
└── TransientStorageError     storage cannot complete it now; retry later        (key)
    └── ContentionExhausted   concurrent writers won every attempt               (key, attempts)
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
