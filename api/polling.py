"""When a client should look at an unfinished saga again: the longer it has run, the later."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.saga.public import FINISHED, PublicStatus

FIRST_POLL_SECONDS = 1
LONGEST_POLL_SECONDS = 30


def poll_after(created_at: datetime, now: datetime) -> int:
    """The saga's age in whole seconds, from 1 s up to 30 s: a client's polls double their
    interval, so a saga is polled about log2(seconds it takes) times and seen at most twice as
    late as it finished. A saga that finishes in a second is seen at the first poll; a backlog
    of slow sagas (a busy host) does not multiply the polls that keep the host busy: with a
    quarter of the age, a 20-second saga was polled 13 times, and under a burst those polls
    took the CPU the sagas needed."""
    age = (now - created_at).total_seconds()
    return int(min(LONGEST_POLL_SECONDS, max(FIRST_POLL_SECONDS, age)))


def retry_after(status: PublicStatus, created_at: datetime) -> dict[str, str]:
    """The Retry-After header for a GET of a saga in ``status``: none once it has finished."""
    if status in FINISHED:
        return {}
    return {"Retry-After": str(poll_after(created_at, datetime.now(UTC)))}
