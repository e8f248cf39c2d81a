"""When a client should look at an unfinished saga again: the longer it has run, the later."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.saga.public import FINISHED, PublicStatus

FIRST_POLL_SECONDS = 1
LONGEST_POLL_SECONDS = 30


def poll_after(created_at: datetime, now: datetime) -> int:
    """A quarter of the saga's age, from 1 s up to 30 s. A saga that finishes in a second is
    seen at once; one that waits (for approval, an operator, or a busy host) is not polled
    every second, so a backlog of waiting sagas cannot poll the host into a collapse."""
    age = (now - created_at).total_seconds()
    return int(min(LONGEST_POLL_SECONDS, max(FIRST_POLL_SECONDS, age / 4)))


def retry_after(status: PublicStatus, created_at: datetime) -> dict[str, str]:
    """The Retry-After header for a GET of a saga in ``status``: none once it has finished."""
    if status in FINISHED:
        return {}
    return {"Retry-After": str(poll_after(created_at, datetime.now(UTC)))}
