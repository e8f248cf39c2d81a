"""Retention: forget the idempotency records and histories of sagas that ended long enough ago.

A record may go once its saga can no longer send a call that needs it: the saga has ended
(Completed, Failed or Terminated) before the cutoff, `now - SAGA_RETENTION_DAYS`. A saga still
running, waiting for approval or parked in NeedsAttention keeps every record, however old. After
its records, the ended saga's orchestration history is purged too, which also frees its
Idempotency-Key: the API starts a new saga for that key from then on.

A delivery of a call can still arrive after its record is gone (a duplicate stuck in a queue for
days). Every call carries the time the orchestration issued it (`issuedAt`), and an activity only
replays a stored answer, and never runs, a call issued before `replay_only_before(now)`: a record
created after that time cannot have been purged yet, since the purge's cutoff is older. Such a
call gets RecordMissing, with no effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions import OrchestrationRuntimeStatus

from shared.idempotency import Ledger
from shared.idempotency.records import COMPENSATION_SUFFIX

log = logging.getLogger("shared.retention")

# Clocks of the purging and the called host may disagree a little: calls are held to the stricter
# rule an hour early.
CLOCK_MARGIN = timedelta(hours=1)
ENDED = [
    OrchestrationRuntimeStatus.Completed,
    OrchestrationRuntimeStatus.Failed,
    OrchestrationRuntimeStatus.Terminated,
]
_ENDED_NAMES = {status.value for status in ENDED}


def purge_cutoff(now: datetime, retention_days: int) -> datetime:
    """Records and histories of sagas that ended before this time are purged."""
    return now - timedelta(days=retention_days)


def replay_only_before(now: datetime, retention_days: int) -> datetime:
    """A call issued before this time may have lost its record: it is only answered from one."""
    return purge_cutoff(now, retention_days) + CLOCK_MARGIN


def saga_of(key: str) -> str:
    """The saga (orchestration instance) id in a step's idempotency key, `{id}:{step}` or
    `{id}:{step}:compensate`; step names hold no colon."""
    action = key.removesuffix(COMPENSATION_SUFFIX)
    if ":" not in action:  # a step named "compensate": the key was an action's
        action = key
    return action.rpartition(":")[0]


@dataclass(frozen=True)
class RetentionReport:
    """What one run did: records deleted, sagas whose old records stay, histories purged."""

    records_deleted: int
    sagas_kept: int
    histories_purged: int


async def purge(
    client: Any,
    tables: Iterable[str],
    ledger_for: Callable[[str], Ledger],
    now: datetime,
    retention_days: int,
) -> RetentionReport:
    """One retention run over these tables' records and the task hub's histories."""
    cutoff = purge_cutoff(now, retention_days)
    records: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for table in tables:
        for partition, key in await asyncio.to_thread(ledger_for(table).records_before, cutoff):
            records[saga_of(key)].append((table, partition, key))
    deleted = kept = 0
    for saga_id, saga_records in records.items():
        if not await _ended_before(client, saga_id, cutoff):
            kept += 1
            continue
        deleted += await asyncio.to_thread(_forget, ledger_for, saga_records)
    purged = await _purge_histories(client, cutoff)
    report = RetentionReport(deleted, kept, purged)
    log.info(
        "retention: %d records deleted, %d sagas kept, %d histories purged (ended before %s)",
        deleted,
        kept,
        purged,
        cutoff.isoformat(),
    )
    return report


async def _ended_before(client: Any, saga_id: str, cutoff: datetime) -> bool:
    """True when the saga ended before the cutoff, or has no instance at all (its history was
    purged on an earlier run, or the key was never a saga's)."""
    if not saga_id:
        return True
    status = await client.get_status(saga_id)
    if not status or status.runtime_status is None:
        return True
    return status.runtime_status.value in _ENDED_NAMES and _before(status, cutoff)


def _before(status: Any, cutoff: datetime) -> bool:
    """The instance was last updated before the cutoff (a time without offset is UTC)."""
    updated = status.last_updated_time
    if updated is None:
        return False
    return (updated if updated.tzinfo else updated.replace(tzinfo=UTC)) < cutoff


def _forget(ledger_for: Callable[[str], Ledger], records: list[tuple[str, str, str]]) -> int:
    by_partition: dict[tuple[str, str], list[str]] = defaultdict(list)
    for table, partition, key in records:
        by_partition[(table, partition)].append(key)
    return sum(
        ledger_for(table).forget(partition, keys)
        for (table, partition), keys in by_partition.items()
    )


async def _purge_histories(client: Any, cutoff: datetime) -> int:
    """Purge every saga that ended before the cutoff. The client reads one page of a query
    (see api/order_listing.py), so query again until a page has nothing left to purge."""
    purged = 0
    tried: set[str] = set()
    while True:
        page = await client.get_status_by(created_time_to=cutoff, runtime_status=ENDED)
        due = [s.instance_id for s in page if s.instance_id not in tried and _before(s, cutoff)]
        if not due:
            return purged
        for instance_id in due:
            tried.add(instance_id)
            result = await client.purge_instance_history(instance_id)
            purged += result.instances_deleted
