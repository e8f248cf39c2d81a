"""Retention on the Table store with virtual time: the daily timer forgets the records and
purges the histories of sagas that ended longer ago than SAGA_RETENTION_DAYS, keeps those of
sagas still running or parked in NeedsAttention, and a delivery that outlives its record is
refused without effect. The durable client calls are the SDK's, against devhost's HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from activities import inventory
from devhost.clock import VirtualClock
from devhost.history import EventType
from devhost.testing import DevHost, WaitAbandoned
from services.inventory import get_stock, put_stock
from services.payments import put_account
from services.tables import TABLES
from shared.ledgers import ledger_for
from shared.retention import saga_of
from tests.integration.shop import PARKED, STOCK, open_shop, place, result
from tests.world import open_world

pytestmark = [pytest.mark.azurite, pytest.mark.slow]

RETENTION_DAYS = 2
DAY = 86_400


@pytest.fixture
def shop(azurite: str) -> Iterator[DevHost]:
    """The shop on fresh tables whose records are stamped by devhost's virtual clock, so the
    retention timer (03:30 every virtual day) sees them age."""
    clock = VirtualClock()
    with (
        open_world(
            "tables",
            azurite,
            clock=clock.now,
            retention_days=RETENTION_DAYS,
            # A big order waits for approval throughout (under 6 days: one durable timer).
            approval_timeout_seconds=5 * DAY,
        ) as world,
        open_shop(world, clock=clock) as host,
    ):
        yield host


def records_by_saga() -> dict[str, int]:
    """How many idempotency records each saga has, over every service table."""
    counts: dict[str, int] = {}
    forever = datetime(9999, 1, 1, tzinfo=UTC)
    for table in TABLES:
        for _, key in ledger_for(table).records_before(forever):
            counts[saga_of(key)] = counts.get(saga_of(key), 0) + 1
    return counts


def reservation_call(host: DevHost, saga_id: str) -> Any:
    """The call the saga sent reserve_inventory (a one-line order sends one), as delivered."""
    [call] = [
        json.loads(event["Input"])
        for event in host.state(saga_id).history
        if event["EventType"] == EventType.TASK_SCHEDULED and event["Name"] == "reserve_inventory"
    ]
    return call


def park_in_needs_attention(host: DevHost) -> str:
    """An order whose charge fails and whose stock release keeps failing: NeedsAttention."""
    host.faults.fail("release_inventory", times=None)
    saga_id = place(host, "bob", {"pear": 3})  # 600 cents: more than bob's 500
    with pytest.raises(WaitAbandoned):
        host.wait_for(saga_id, give_up=PARKED)
    return saga_id


class TestRetention:
    def test_ended_sagas_go_running_and_parked_ones_stay(self, shop: DevHost) -> None:
        completed = place(shop, "alice", {"apple": 2})
        assert result(shop, completed)["status"] == "Completed"
        parked = park_in_needs_attention(shop)
        waiting = place(shop, "rich", {"gold": 2})  # over the threshold: awaits approval
        shop.wait_idle()
        before = records_by_saga()
        assert before[completed] == 5 and before[waiting] > 0 and before[parked] > 0

        shop.advance((RETENTION_DAYS + 2) * DAY)

        after = records_by_saga()
        assert completed not in after
        assert (after[waiting], after[parked]) == (before[waiting], before[parked])
        with pytest.raises(KeyError):
            shop.state(completed)  # its history is purged: its Idempotency-Key is free again
        assert shop.state(waiting).runtime_status == "Running"
        assert shop.custom_status(parked)["status"] == "NeedsAttention"

    def test_a_saga_that_ended_recently_keeps_its_records(self, shop: DevHost) -> None:
        """What counts is when the saga ended, not when its records were written."""
        slow = place(shop, "rich", {"gold": 2, "apple": 1})  # over the threshold
        shop.wait_idle()
        shop.advance((RETENTION_DAYS + 1) * DAY)  # its first records are older than retention
        shop.raise_event(slow, "Approval", {"approved": True})
        assert result(shop, slow, skip_time=False)["status"] == "Completed"
        shop.advance(DAY)  # a retention run after it ended, within the retention
        assert records_by_saga()[slow] == 6
        shop.advance(RETENTION_DAYS * DAY)
        assert slow not in records_by_saga()

    def test_a_delivery_after_its_record_is_purged_has_no_effect(self, shop: DevHost) -> None:
        """A duplicate of a reservation, stuck somewhere for days, arrives after the purge: it
        is refused (PermanentFault naming the missing record) and the stock does not move."""
        order = place(shop, "alice", {"apple": 1})
        assert result(shop, order)["status"] == "Completed"
        call = reservation_call(shop, order)
        assert call["issuedAt"]
        shop.advance((RETENTION_DAYS + 2) * DAY)
        assert order not in records_by_saga()
        stock = get_stock("apple")

        answer = inventory.reserve_inventory(call)

        assert answer["ok"] is False
        assert answer["error"]["code"] == "PermanentFault"
        assert "no record" in answer["error"]["message"]
        assert get_stock("apple") == stock
        assert stock is not None and stock["available"] == STOCK["apple"] - 1
        assert order not in records_by_saga()  # nothing written, not even a record

    def test_a_recent_duplicate_is_still_answered_from_its_record(self, shop: DevHost) -> None:
        order = place(shop, "alice", {"apple": 1})
        assert result(shop, order)["status"] == "Completed"
        call = reservation_call(shop, order)
        first = get_stock("apple")
        answer = inventory.reserve_inventory(call)
        assert answer["ok"] is True
        assert get_stock("apple") == first


class TestAdminWrites:
    def test_setting_stock_and_balances_leaves_no_record(self, shop: DevHost) -> None:
        """PUT /api/inventory and /api/accounts write through Ledger.write: nothing to purge."""
        for _ in range(3):
            put_stock("apple", 50, 150)
            put_account("alice", 10_000)
        assert records_by_saga() == {}


class TestLongRun:
    def test_records_stop_growing_when_sagas_keep_coming(self, shop: DevHost) -> None:
        """Two orders a virtual day for ten days: once the retention has passed, the tables
        hold the last few days' records (five per order), the same number every day."""
        put_stock("apple", 100, 150)
        records = []
        for _ in range(10):
            for _ in range(2):
                order = place(shop, "alice", {"apple": 1})
                assert result(shop, order, skip_time=False)["status"] == "Completed"
            shop.advance(DAY)
            records.append(sum(records_by_saga().values()))
        steady = records[RETENTION_DAYS + 1 :]
        assert len(set(steady)) == 1, records
        assert steady[0] <= (RETENTION_DAYS + 1) * 2 * 5 < records[0] * 10
