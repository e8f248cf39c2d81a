"""Idempotency ledger contract: every behaviour holds for MemoryLedger and TableLedger alike."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

import pytest

from shared.errors import (
    ContentionExhausted,
    IdempotencyConflict,
    RecordMissing,
    TransactionTooLarge,
)
from shared.idempotency import (
    MAX_BATCH_OPS,
    MAX_RESULT_CHARS,
    Ledger,
    LedgerRecord,
    MemoryLedger,
    TableLedger,
    UnitOfWork,
    compensation_key,
)
from shared.settings import Settings
from shared.storage import TableStorage
from tests.world import STORAGES

T = TypeVar("T")
SKU = "sku-1"


class NewLedger(Protocol):
    def __call__(
        self, *, max_attempts: int = ..., clock: Callable[[], datetime] = ...
    ) -> Ledger: ...


@pytest.fixture(params=STORAGES)
def new_ledger(request: pytest.FixtureRequest) -> Iterator[NewLedger]:
    """Make ledgers: in memory, or on a table of this test's own in Azurite."""
    if request.param == "memory":
        yield MemoryLedger
        return
    settings = Settings(
        storage_connection_string=request.getfixturevalue("azurite"),
        table_prefix=f"t{uuid.uuid4().hex[:12]}",
    )
    storage = TableStorage(settings)
    yield partial(TableLedger, storage.get_table("Ledger"))
    storage.drop_tables()


@pytest.fixture
def ledger(new_ledger: NewLedger) -> Ledger:
    return new_ledger()


class Spy:
    """Wraps a transaction and counts how often the ledger called it."""

    def __init__(self, transaction: Callable[[UnitOfWork], Any]) -> None:
        self.transaction = transaction
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, uow: UnitOfWork) -> Any:
        with self._lock:
            self.calls += 1
        return self.transaction(uow)


def reserve(quantity: int, think_seconds: float = 0) -> Callable[[UnitOfWork], Any]:
    """The sample's read-check-update: take `quantity` from the stock row, or say why not."""

    def transaction(uow: UnitOfWork) -> Any:
        stock = uow.get("stock")
        time.sleep(think_seconds)  # lets concurrent callers interleave between read and commit
        if stock is None:
            return {"ok": False, "error": {"code": "UnknownSku"}}
        if stock["available"] < quantity:
            return {"ok": False, "error": {"code": "OutOfStock"}}
        stock["available"] -= quantity
        uow.update(stock)
        return {"ok": True, "value": {"available": stock["available"]}}

    return transaction


def release(quantity: int) -> Callable[[UnitOfWork, LedgerRecord | None], Any]:
    """The compensation of `reserve`: put the quantity back if the reservation took it."""

    def undo(uow: UnitOfWork, action: LedgerRecord | None) -> Any:
        if action is None or not action.result["ok"]:
            return {"ok": True, "value": "nothing to release"}
        stock = uow.get("stock")
        assert stock is not None
        stock["available"] += quantity
        uow.update(stock)
        return {"ok": True, "value": "released"}

    return undo


def set_stock(ledger: Ledger, available: int, key: str | None = None) -> None:
    def put(uow: UnitOfWork) -> None:
        uow.upsert({"RowKey": "stock", "available": available})

    ledger.run_once(SKU, key or f"seed-{uuid.uuid4()}", put)


def available(ledger: Ledger) -> int:
    stock = ledger.get(SKU, "stock")
    assert stock is not None
    return int(stock["available"])


def concurrently(count: int, work: Callable[[int], T]) -> list[T]:
    """Run work(0..count-1) on as many threads, released together to maximise contention."""
    barrier = threading.Barrier(count)

    def start(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


class TestRunOnce:
    def test_first_call_applies_and_records_the_result(self, ledger: Ledger) -> None:
        """The transaction's writes and its record are both stored; the record is returned."""
        set_stock(ledger, 5)
        record = ledger.run_once(SKU, "order-1:reserve", reserve(2), reads=["stock"])
        assert (record.key, record.outcome) == ("order-1:reserve", "applied")
        assert record.result == {"ok": True, "value": {"available": 3}}
        assert ledger.record(SKU, "order-1:reserve") == record
        assert available(ledger) == 3

    def test_duplicate_returns_the_stored_record_without_calling_the_transaction(
        self, ledger: Ledger
    ) -> None:
        """A second delivery of the same key has no effect and gets the first answer."""
        set_stock(ledger, 5)
        first = ledger.run_once(SKU, "k", reserve(2), reads=["stock"])
        spy = Spy(reserve(2))
        assert ledger.run_once(SKU, "k", spy, reads=["stock"]) == first
        assert spy.calls == 0
        assert available(ledger) == 3

    def test_business_failure_is_recorded_and_replayed_identically(self, ledger: Ledger) -> None:
        """OutOfStock is a result: a duplicate gets OutOfStock again even after a restock."""
        set_stock(ledger, 1)
        first = ledger.run_once(SKU, "k", reserve(2), reads=["stock"])
        assert first.result["error"]["code"] == "OutOfStock"
        set_stock(ledger, 100)
        spy = Spy(reserve(2))
        assert ledger.run_once(SKU, "k", spy, reads=["stock"]) == first
        assert (spy.calls, available(ledger)) == (0, 100)

    def test_exception_writes_nothing_and_a_later_delivery_runs(self, ledger: Ledger) -> None:
        """A technical fault leaves neither the business write nor the record behind."""
        set_stock(ledger, 5)

        def fail_after_staging(uow: UnitOfWork) -> None:
            reserve(2)(uow)
            raise ConnectionError("downstream timed out")

        with pytest.raises(ConnectionError):
            ledger.run_once(SKU, "k", fail_after_staging, reads=["stock"])
        assert ledger.record(SKU, "k") is None
        assert available(ledger) == 5
        assert ledger.run_once(SKU, "k", reserve(2), reads=["stock"]).result["ok"]
        assert available(ledger) == 3

    def test_result_is_returned_as_its_json_round_trip(self, ledger: Ledger) -> None:
        """The first caller sees exactly what duplicates will see (tuples become lists)."""
        first = ledger.run_once(SKU, "k", lambda uow: {"pair": (1, 2), 3: None})
        assert first.result == {"pair": [1, 2], "3": None}
        assert ledger.run_once(SKU, "k", lambda uow: "other") == first

    def test_same_key_with_a_different_request_is_a_conflict(self, ledger: Ledger) -> None:
        """With `request`, reusing a key for another request raises instead of replaying."""
        first = ledger.run_once(SKU, "k", lambda uow: "done", request={"quantity": 2})
        assert ledger.run_once(SKU, "k", lambda uow: "x", request={"quantity": 2}) == first
        with pytest.raises(IdempotencyConflict) as raised:
            ledger.run_once(SKU, "k", lambda uow: "x", request={"quantity": 3})
        assert raised.value.key == "k"

    def test_rows_not_named_in_reads_are_read_on_demand(self, ledger: Ledger) -> None:
        """`reads` only saves round trips; any row of the partition can be read."""
        set_stock(ledger, 5)
        assert ledger.run_once(SKU, "k", reserve(1)).result["ok"]
        assert available(ledger) == 4

    def test_create_upsert_and_delete_are_staged_like_update(self, ledger: Ledger) -> None:
        """Every kind of write commits with the record."""
        set_stock(ledger, 5)

        def reshape(uow: UnitOfWork) -> None:
            assert uow.get("hold") is None and uow.get("stock") is not None
            uow.create({"RowKey": "hold", "quantity": 2})
            uow.upsert({"RowKey": "note", "text": "moved"})
            uow.delete("stock")

        ledger.run_once(SKU, "k", reshape)
        assert ledger.get(SKU, "hold") == {"PartitionKey": SKU, "RowKey": "hold", "quantity": 2}
        assert ledger.get(SKU, "note") is not None
        assert ledger.get(SKU, "stock") is None

    def test_integers_beyond_32_bits_round_trip_as_plain_ints(self, ledger: Ledger) -> None:
        """Money in cents can exceed 2**31; it is stored as Int64 and read back as an int."""
        big = 3 * 2**40
        ledger.run_once(SKU, "k", lambda uow: uow.upsert({"RowKey": "acct", "balanceCents": big}))
        account = ledger.get(SKU, "acct")
        assert account is not None
        assert account["balanceCents"] == big
        assert type(account["balanceCents"]) is int


def open_account(customer: str) -> Callable[[UnitOfWork], Any]:
    """A pure insert: create the account row, or say it exists."""

    def transaction(uow: UnitOfWork) -> Any:
        if uow.get("account") is not None:
            return {"ok": False, "error": {"code": "AccountExists"}}
        uow.create({"RowKey": "account", "customer": customer})
        return {"ok": True, "value": customer}

    return transaction


class TestNewRows:
    """``new_rows=True``: commit without reading; fall back to the usual path whenever the guess
    that every row is absent does not hold."""

    def test_new_rows_are_created_with_the_record(self, ledger: Ledger) -> None:
        record = ledger.run_once(SKU, "k", open_account("ann"), reads=["account"], new_rows=True)
        assert record.result == {"ok": True, "value": "ann"}
        assert ledger.record(SKU, "k") == record
        assert ledger.get(SKU, "account") == {"PartitionKey": SKU, "RowKey": "account",
                                               "customer": "ann"}  # fmt: skip

    def test_a_duplicate_gets_the_first_answer_and_writes_nothing(self, ledger: Ledger) -> None:
        first = ledger.run_once(SKU, "k", open_account("ann"), reads=["account"], new_rows=True)
        again = ledger.run_once(SKU, "k", open_account("bob"), reads=["account"], new_rows=True)
        assert again == first
        assert ledger.get(SKU, "account")["customer"] == "ann"  # type: ignore[index]

    def test_concurrent_duplicates_take_effect_once(self, ledger: Ledger) -> None:
        results = concurrently(
            10,
            lambda i: ledger.run_once(
                SKU, "k", open_account(f"c{i}"), reads=["account"], new_rows=True
            ),
        )
        assert all(record == results[0] for record in results)
        stored = ledger.get(SKU, "account")
        assert stored is not None and results[0].result["value"] == stored["customer"]

    def test_a_row_that_exists_is_read_and_decides(self, ledger: Ledger) -> None:
        """Another key created the row: the guess fails, the usual path reads it."""
        ledger.run_once(SKU, "first", open_account("ann"), reads=["account"])
        record = ledger.run_once(
            SKU, "second", open_account("bob"), reads=["account"], new_rows=True
        )
        assert record.result == {"ok": False, "error": {"code": "AccountExists"}}
        assert ledger.get(SKU, "account")["customer"] == "ann"  # type: ignore[index]

    def test_a_transaction_that_would_not_create_every_row_reads_first(
        self, ledger: Ledger
    ) -> None:
        """reserve() on a guessed-absent stock row would record UnknownSku: never committed."""
        set_stock(ledger, 5)
        record = ledger.run_once(SKU, "k", reserve(2), reads=["stock"], new_rows=True)
        assert record.result == {"ok": True, "value": {"available": 3}}
        assert available(ledger) == 3

    def test_a_tombstone_still_wins(self, ledger: Ledger) -> None:
        tombstone = ledger.tombstone(SKU, "k")
        record = ledger.run_once(SKU, "k", open_account("ann"), reads=["account"], new_rows=True)
        assert record == tombstone
        assert ledger.get(SKU, "account") is None

    def test_a_request_hash_mismatch_is_still_a_conflict(self, ledger: Ledger) -> None:
        ledger.run_once(SKU, "k", open_account("ann"), reads=["account"], request={"a": 1},
                        new_rows=True)  # fmt: skip
        with pytest.raises(IdempotencyConflict):
            ledger.run_once(SKU, "k", open_account("ann"), reads=["account"], request={"a": 2},
                            new_rows=True)  # fmt: skip


@pytest.fixture
def two_processes(new_ledger: NewLedger) -> tuple[Ledger, Ledger]:
    """Two ledgers on the same rows, each with its own memory of what it committed, as the
    ledgers of two worker processes are."""
    first = new_ledger()
    if isinstance(first, MemoryLedger):
        return first, first.sibling()
    return first, new_ledger()  # another TableLedger on the same table


def recalled_reserve(ledger: Ledger, key: str, quantity: int) -> LedgerRecord:
    return ledger.run_once(SKU, key, reserve(quantity), reads=["stock"], recall=True)


class TestRecall:
    """run_once(recall=True): rows this process committed last are used unread; the batch's
    ETag checks decide whether they were current (round trips: test_ledger_round_trips)."""

    def test_a_row_this_process_committed_is_changed_once(self, ledger: Ledger) -> None:
        set_stock(ledger, 10)
        assert recalled_reserve(ledger, "a", 3).result == {"ok": True, "value": {"available": 7}}
        assert recalled_reserve(ledger, "b", 2).result == {"ok": True, "value": {"available": 5}}
        assert available(ledger) == 5

    def test_a_duplicate_gets_the_first_answer_and_changes_nothing(self, ledger: Ledger) -> None:
        set_stock(ledger, 10)
        first = recalled_reserve(ledger, "k", 3)
        assert recalled_reserve(ledger, "k", 3) == first
        assert available(ledger) == 7

    def test_a_row_another_process_changed_is_read_again_and_no_update_is_lost(
        self, two_processes: tuple[Ledger, Ledger]
    ) -> None:
        here, elsewhere = two_processes
        set_stock(here, 10)  # remembered here
        recalled_reserve(elsewhere, "elsewhere", 4)  # 6 left; here still remembers 10
        record = recalled_reserve(here, "here", 3)
        assert record.result == {"ok": True, "value": {"available": 3}}
        assert available(here) == 3

    def test_an_outcome_decided_on_a_stale_row_without_writing_it_is_never_committed(
        self, two_processes: tuple[Ledger, Ledger]
    ) -> None:
        """Remembered: 1 in stock; stored: 10. OutOfStock on the memory writes no row, so no
        ETag would check it: the ledger reads instead, and the reservation succeeds."""
        here, elsewhere = two_processes
        set_stock(here, 1)
        set_stock(elsewhere, 10)
        record = recalled_reserve(here, "k", 5)
        assert record.result == {"ok": True, "value": {"available": 5}}
        assert available(here) == 5

    def test_rows_not_remembered_are_read_as_usual(
        self, two_processes: tuple[Ledger, Ledger]
    ) -> None:
        here, elsewhere = two_processes
        set_stock(elsewhere, 10)
        assert recalled_reserve(here, "k", 4).result == {"ok": True, "value": {"available": 6}}

    def test_a_tombstone_still_wins(self, ledger: Ledger) -> None:
        set_stock(ledger, 10)
        tombstone = ledger.tombstone(SKU, "k")
        assert recalled_reserve(ledger, "k", 3) == tombstone
        assert available(ledger) == 10

    def test_concurrent_recalled_steps_lose_no_update(self, ledger: Ledger) -> None:
        """Ten threads of one process, one remembered row: each stale guess is read again."""
        set_stock(ledger, 100)
        concurrently(10, lambda i: recalled_reserve(ledger, f"k{i}", 1))
        assert available(ledger) == 90


class TestConcurrency:
    def test_etag_conflict_is_retried_without_losing_the_other_update(self, ledger: Ledger) -> None:
        """A writer that changes the row between read and commit forces one re-run, not a loss."""
        set_stock(ledger, 10)

        def interfering(uow: UnitOfWork) -> Any:
            if spy.calls == 1:  # a concurrent saga restocks after this one read the row
                set_stock(ledger, 20)
            return reserve(3)(uow)

        spy = Spy(interfering)
        assert ledger.run_once(SKU, "k", spy, reads=["stock"]).result["ok"]
        assert spy.calls == 2
        assert available(ledger) == 17

    def test_distinct_keys_incrementing_one_row_lose_no_update(self, ledger: Ledger) -> None:
        """20 threads, one counter row, 20 keys: the counter ends at exactly 20."""
        ledger.run_once(SKU, "seed", lambda uow: uow.upsert({"RowKey": "counter", "n": 0}))

        def increment(uow: UnitOfWork) -> int:
            counter = uow.get("counter")
            assert counter is not None
            time.sleep(0.001)  # lets the threads interleave between read and commit
            counter["n"] += 1
            uow.update(counter)
            return int(counter["n"])

        results = concurrently(
            20, lambda i: ledger.run_once(SKU, f"inc-{i}", increment, reads=["counter"])
        )
        assert sorted(record.result for record in results) == list(range(1, 21))
        assert ledger.get(SKU, "counter") == {"PartitionKey": SKU, "RowKey": "counter", "n": 20}

    def test_concurrent_duplicates_of_one_key_take_effect_once(self, ledger: Ledger) -> None:
        """10 simultaneous deliveries of one key: one reservation, ten identical answers."""
        set_stock(ledger, 100)
        results = concurrently(
            10, lambda _: ledger.run_once(SKU, "k", reserve(1, 0.002), reads=["stock"])
        )
        assert available(ledger) == 99
        assert all(record == results[0] for record in results)
        assert results[0].result == {"ok": True, "value": {"available": 99}}

    def test_fifty_orders_for_ten_in_stock_sell_exactly_ten(self, ledger: Ledger) -> None:
        """No oversell: 10 reservations succeed, 40 get OutOfStock, the stock ends at 0."""
        set_stock(ledger, 10)
        results = concurrently(
            50, lambda i: ledger.run_once(SKU, f"order-{i}", reserve(1, 0.001), reads=["stock"])
        )
        outcomes = [r.result["error"]["code"] if not r.result["ok"] else "ok" for r in results]
        assert outcomes.count("ok") == 10
        assert outcomes.count("OutOfStock") == 40
        assert available(ledger) == 0


class TestAtomicity:
    def test_a_failing_write_rolls_back_the_others_and_the_record(
        self, new_ledger: NewLedger
    ) -> None:
        """The batch [record, upsert, stale update] fails as a whole: nothing is written."""
        ledger = new_ledger(max_attempts=1)
        set_stock(ledger, 10)

        def write_two_rows(uow: UnitOfWork) -> None:
            uow.upsert({"RowKey": "audit", "entry": "reserved 1"})
            reserve(1)(uow)
            set_stock(ledger, 20)  # makes the staged stock update stale before the commit

        with pytest.raises(ContentionExhausted) as raised:
            ledger.run_once(SKU, "k", write_two_rows, reads=["stock"])
        assert (raised.value.key, raised.value.attempts, raised.value.retryable) == ("k", 1, True)
        assert ledger.get(SKU, "audit") is None
        assert ledger.record(SKU, "k") is None
        assert available(ledger) == 20

    def test_more_writes_than_one_batch_holds_are_refused_before_sending(
        self, ledger: Ledger
    ) -> None:
        """100 operations per batch include the record, so 100 staged writes are one too many."""

        def write(count: int) -> Callable[[UnitOfWork], None]:
            def transaction(uow: UnitOfWork) -> None:
                for i in range(count):
                    uow.upsert({"RowKey": f"row-{i:03d}", "i": i})

            return transaction

        with pytest.raises(TransactionTooLarge, match="100 operations"):
            ledger.run_once(SKU, "too-many", write(MAX_BATCH_OPS))
        assert ledger.record(SKU, "too-many") is None
        assert ledger.get(SKU, "row-000") is None
        ledger.run_once(SKU, "just-fits", write(MAX_BATCH_OPS - 1))
        assert ledger.get(SKU, "row-098") is not None

    def test_results_too_large_or_not_json_are_refused(self, ledger: Ledger) -> None:
        """A result must fit one property as JSON; otherwise nothing is written."""
        with pytest.raises(TransactionTooLarge, match="30000 characters"):
            ledger.run_once(SKU, "big", lambda uow: "x" * MAX_RESULT_CHARS)
        with pytest.raises(TypeError, match="not JSON"):
            ledger.run_once(SKU, "odd", lambda uow: {1, 2})
        assert ledger.record(SKU, "big") is None and ledger.record(SKU, "odd") is None


class TestTombstones:
    def test_tombstone_first_makes_the_late_action_a_no_op(self, ledger: Ledger) -> None:
        """The late action returns the tombstone; its transaction never runs."""
        set_stock(ledger, 5)
        tombstone = ledger.tombstone(SKU, "k", {"compensated": True})
        assert (tombstone.outcome, tombstone.result) == ("tombstone", {"compensated": True})
        spy = Spy(reserve(1))
        assert ledger.run_once(SKU, "k", spy, reads=["stock"]) == tombstone
        assert (spy.calls, available(ledger)) == (0, 5)

    def test_tombstone_after_the_action_reports_that_it_applied(self, ledger: Ledger) -> None:
        """The caller learns it must compensate for real; the record is unchanged."""
        set_stock(ledger, 5)
        applied = ledger.run_once(SKU, "k", reserve(1), reads=["stock"])
        assert ledger.tombstone(SKU, "k") == applied
        assert ledger.record(SKU, "k") == applied

    def test_late_action_that_read_before_the_tombstone_still_does_nothing(
        self, ledger: Ledger
    ) -> None:
        """Its commit loses to the tombstone on the record row and it returns the tombstone."""
        set_stock(ledger, 5)

        def slow_reserve(uow: UnitOfWork) -> Any:
            outcome = reserve(1)(uow)
            ledger.tombstone(SKU, "k")  # the compensation runs while this action is in flight
            return outcome

        record = ledger.run_once(SKU, "k", slow_reserve, reads=["stock"])
        assert record.outcome == "tombstone"
        assert available(ledger) == 5


class TestCompensate:
    def test_applied_action_is_undone_once(self, ledger: Ledger) -> None:
        """Compensation undoes the action; its duplicate replays instead of undoing twice."""
        set_stock(ledger, 5)
        ledger.run_once(SKU, "o1:reserve", reserve(2), reads=["stock"])
        first = ledger.compensate(SKU, "o1:reserve", release(2), reads=["stock"])
        again = ledger.compensate(SKU, "o1:reserve", release(2), reads=["stock"])
        assert first == again
        assert (first.key, first.result["value"]) == (compensation_key("o1:reserve"), "released")
        assert available(ledger) == 5

    def test_action_that_never_applied_is_tombstoned(self, ledger: Ledger) -> None:
        """Nothing to undo; the tombstone turns the action's late delivery into a no-op."""
        set_stock(ledger, 5)
        compensation = ledger.compensate(SKU, "o1:reserve", release(2), reads=["stock"])
        assert compensation.result["value"] == "nothing to release"
        late = ledger.run_once(SKU, "o1:reserve", reserve(2), reads=["stock"])
        assert late.outcome == "tombstone"
        assert available(ledger) == 5

    def test_compensation_losing_the_race_to_the_late_action_undoes_it(
        self, ledger: Ledger
    ) -> None:
        """Its tombstone create fails on the action's record; the re-run sees it and undoes it."""
        set_stock(ledger, 5)
        seen: list[LedgerRecord | None] = []

        def undo(uow: UnitOfWork, action: LedgerRecord | None) -> Any:
            seen.append(action)
            if len(seen) == 1:  # the late action commits after the compensation read
                ledger.run_once(SKU, "o1:reserve", reserve(2), reads=["stock"])
            return release(2)(uow, action)

        result = ledger.compensate(SKU, "o1:reserve", undo, reads=["stock"])
        assert result.result["value"] == "released"
        assert [action and action.outcome for action in seen] == [None, "applied"]
        assert ledger.record(SKU, "o1:reserve").outcome == "applied"  # type: ignore[union-attr]
        assert available(ledger) == 5

    def test_business_failure_needs_no_undo(self, ledger: Ledger) -> None:
        """`undo` sees the failed action's result and leaves the stock alone."""
        set_stock(ledger, 1)
        ledger.run_once(SKU, "o1:reserve", reserve(2), reads=["stock"])
        ledger.compensate(SKU, "o1:reserve", release(2), reads=["stock"])
        assert available(ledger) == 1

    def test_racing_the_late_action_never_leaves_an_effect(self, ledger: Ledger) -> None:
        """Action and compensation in parallel, 10 orders: whoever wins, the stock is restored."""
        set_stock(ledger, 100)

        def race(i: int) -> LedgerRecord:
            key = f"o{i // 2}:reserve"
            if i % 2:
                return ledger.compensate(SKU, key, release(1), reads=["stock"])
            return ledger.run_once(SKU, key, reserve(1), reads=["stock"])

        concurrently(20, race)
        assert available(ledger) == 100


def insert_row(result: Any) -> Callable[[UnitOfWork], Any]:
    """A transaction that creates the absent row `row` (v=1) and returns ``result``."""

    def transaction(uow: UnitOfWork) -> Any:
        assert uow.get("row") is None
        uow.create({"RowKey": "row", "v": 1})
        return result

    return transaction


class TestRetention:
    def test_records_before_a_cutoff_are_listed_across_partitions(
        self, new_ledger: NewLedger
    ) -> None:
        """By createdAt, records only: business rows are never listed."""
        now = datetime(2025, 1, 10, tzinfo=UTC)
        clock = iter([now - timedelta(days=9), now - timedelta(days=8), now - timedelta(days=7)])
        ledger = new_ledger(clock=lambda: next(clock, now))
        ledger.run_once("a", "old-a", lambda uow: uow.upsert({"RowKey": "row", "v": 1}))
        ledger.run_once("b", "old-b", lambda uow: None)
        ledger.run_once("b", "old-b2", lambda uow: None)
        ledger.run_once("b", "new-b", lambda uow: None)
        old = sorted(ledger.records_before(now - timedelta(days=1)))
        assert old == [("a", "old-a"), ("b", "old-b"), ("b", "old-b2")]

    def test_forgotten_records_go_and_everything_else_stays(self, ledger: Ledger) -> None:
        ledger.run_once("p", "k1", lambda uow: uow.upsert({"RowKey": "row", "v": 1}))
        ledger.run_once("p", "k2", lambda uow: None)
        assert ledger.forget("p", ["k1", "k1", "never-existed"]) >= 1
        assert ledger.record("p", "k1") is None
        assert ledger.record("p", "k2") is not None
        assert ledger.get("p", "row") == {"PartitionKey": "p", "RowKey": "row", "v": 1}

    def test_more_records_than_a_batch_are_forgotten(self, ledger: Ledger) -> None:
        keys = [f"k{i}" for i in range(MAX_BATCH_OPS + 5)]
        for key in keys:
            ledger.run_once("p", key, lambda uow: None)
        assert ledger.forget("p", keys) == len(keys)
        assert ledger.records_before(datetime(9999, 1, 1, tzinfo=UTC)) == []

    def test_cutoff_must_be_timezone_aware(self, ledger: Ledger) -> None:
        """A naive datetime would compare wrongly with the stored UTC times."""
        with pytest.raises(ValueError, match="timezone-aware"):
            ledger.records_before(datetime(2025, 1, 1))

    def test_a_replay_only_call_is_answered_from_its_record(self, ledger: Ledger) -> None:
        first = ledger.run_once("p", "k", insert_row(7), reads=["row"])
        again = ledger.run_once("p", "k", lambda uow: 8, replay_only=True)
        assert (again.result, again.created_at) == (first.result, first.created_at)

    def test_a_replay_only_call_without_a_record_writes_nothing(self, ledger: Ledger) -> None:
        for new_rows in (False, True):
            spy = Spy(insert_row(1))
            with pytest.raises(RecordMissing, match="'gone'"):
                ledger.run_once(
                    "p", "gone", spy, reads=["row"], new_rows=new_rows, replay_only=True
                )
            assert spy.calls == 0
        with pytest.raises(RecordMissing):
            ledger.compensate("p", "gone", lambda uow, action: None, replay_only=True)
        assert ledger.get("p", "row") is None
        assert ledger.record("p", "gone") is None
        assert ledger.records_before(datetime(9999, 1, 1, tzinfo=UTC)) == []


class TestWrite:
    def test_a_write_commits_without_a_record(self, ledger: Ledger) -> None:
        assert ledger.write("p", insert_row("done"), reads=["row"]) == "done"
        assert ledger.get("p", "row") == {"PartitionKey": "p", "RowKey": "row", "v": 1}
        assert ledger.records_before(datetime(9999, 1, 1, tzinfo=UTC)) == []

    def test_a_write_rereads_and_reruns_on_contention(self, ledger: Ledger) -> None:
        """Ten concurrent increments of one row all land."""
        ledger.write("p", lambda uow: uow.upsert({"RowKey": "n", "v": 0}))

        def increment(uow: UnitOfWork) -> None:
            row = uow.get("n")
            assert row is not None
            uow.update({**row, "v": row["v"] + 1})

        with ThreadPoolExecutor(max_workers=5) as pool:
            list(pool.map(lambda _: ledger.write("p", increment, reads=["n"]), range(10)))
        row = ledger.get("p", "n")
        assert row is not None and row["v"] == 10


class TestMisuse:
    @pytest.mark.parametrize(
        ("transaction", "message"),
        [
            (lambda uow: uow.update({"RowKey": "stock", "n": 1}), "get\\(\\) it first"),
            (lambda uow: uow.delete("missing") if uow.get("missing") is None else None, "present"),
            (lambda uow: uow.create({"RowKey": "stock"}) if uow.get("stock") else None, "absent"),
            (lambda uow: uow.upsert({"RowKey": "idem:forged"}), "ledger's"),
            (lambda uow: uow.upsert({"RowKey": "a/b"}), "'/'"),
            (lambda uow: uow.upsert({"RowKey": "r", "PartitionKey": "other"}), "not in partition"),
            (lambda uow: [uow.upsert({"RowKey": "r"}) for _ in range(2)], "staged twice"),
        ],
    )
    def test_programming_errors_raise_value_error_and_write_nothing(
        self, ledger: Ledger, transaction: Callable[[UnitOfWork], Any], message: str
    ) -> None:
        """Mistakes surface on the first run instead of as conflicts or corrupt rows."""
        set_stock(ledger, 5)
        with pytest.raises(ValueError, match=message):
            ledger.run_once(SKU, "k", transaction)
        assert ledger.record(SKU, "k") is None

    def test_properties_must_be_table_types(self, ledger: Ledger) -> None:
        """A list would work in memory but not in Table storage, so both refuse it."""
        with pytest.raises(TypeError, match="'items' of row 'r' is a list"):
            ledger.run_once(SKU, "k", lambda uow: uow.upsert({"RowKey": "r", "items": [1]}))

    @pytest.mark.parametrize("key", ["", "a/b", "a#b", "what?", "100%", "back\\slash", "x" * 600])
    def test_keys_tables_cannot_hold_are_refused(self, ledger: Ledger, key: str) -> None:
        """Durable instance ids never contain these, so refusing beats silently encoding."""
        with pytest.raises(ValueError):
            ledger.run_once(SKU, key, lambda uow: None)
        with pytest.raises(ValueError):
            ledger.run_once(key, "k", lambda uow: None)
