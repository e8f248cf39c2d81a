"""Storage round trips of the Table ledger, counted per HTTP request on the real client."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from azure.core.pipeline import PipelineResponse
from azure.data.tables import TableClient, TableServiceClient

from shared.idempotency import LedgerRecord, TableLedger, UnitOfWork

pytestmark = pytest.mark.azurite
SKU = "sku-1"


class Requests:
    """Records every request the client sends, via the SDK's per-response hook."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def hook(self, response: PipelineResponse[Any, Any]) -> None:
        request = response.http_request
        self.sent.append(f"{request.method} {request.url.split('?')[0].rsplit('/', 1)[-1]}")

    def during(self, action: Callable[[], object]) -> list[str]:
        """The requests `action()` sent."""
        self.sent.clear()
        action()
        return list(self.sent)


@pytest.fixture
def trips_table(azurite: str) -> Iterator[tuple[Requests, TableClient]]:
    """A fresh table whose client reports each request."""
    name = f"trips{uuid.uuid4().hex[:12]}"
    TableServiceClient.from_connection_string(azurite).create_table(name)
    requests = Requests()
    table = TableClient.from_connection_string(azurite, name, raw_response_hook=requests.hook)
    yield requests, table
    table.delete_table()


@pytest.fixture
def requests_and_ledger(
    trips_table: tuple[Requests, TableClient],
) -> tuple[Requests, TableLedger]:
    """A TableLedger on that table, with stock 10."""
    requests, table = trips_table
    ledger = TableLedger(table)
    ledger.run_once(SKU, "seed", lambda uow: uow.upsert({"RowKey": "stock", "available": 10}))
    return requests, ledger


def reserve(uow: UnitOfWork) -> Any:
    stock = uow.get("stock")
    assert stock is not None
    stock["available"] -= 1
    uow.update(stock)
    return {"ok": True}


def release(uow: UnitOfWork, action: LedgerRecord | None) -> Any:
    if action is not None:
        stock = uow.get("stock")
        assert stock is not None
        stock["available"] += 1
        uow.update(stock)
    return {"ok": True}


class TestRoundTrips:
    def test_first_delivery_is_one_query_and_one_batch(
        self, requests_and_ledger: tuple[Requests, TableLedger]
    ) -> None:
        """The record lookup and the business read share one query; the writes one batch."""
        requests, ledger = requests_and_ledger
        sent = requests.during(lambda: ledger.run_once(SKU, "k", reserve, reads=["stock"]))
        assert len(sent) == 2, sent
        assert sent[1] == "POST $batch"

    def test_duplicate_delivery_is_one_query(
        self, requests_and_ledger: tuple[Requests, TableLedger]
    ) -> None:
        """The query finds the record; nothing is written."""
        requests, ledger = requests_and_ledger
        ledger.run_once(SKU, "k", reserve, reads=["stock"])
        assert len(requests.during(lambda: ledger.run_once(SKU, "k", reserve))) == 1

    def test_transaction_without_reads_is_a_point_read_and_one_batch(
        self, requests_and_ledger: tuple[Requests, TableLedger]
    ) -> None:
        """With nothing else to read, the record lookup is a point read."""
        requests, ledger = requests_and_ledger
        sent = requests.during(lambda: ledger.run_once(SKU, "k", lambda uow: "done"))
        assert len(sent) == 2, sent

    def test_an_undeclared_read_costs_one_more_request(
        self, requests_and_ledger: tuple[Requests, TableLedger]
    ) -> None:
        """Forgetting `reads` stays correct but pays a point read per row."""
        requests, ledger = requests_and_ledger
        assert len(requests.during(lambda: ledger.run_once(SKU, "k", reserve))) == 3

    def test_a_step_on_a_row_this_process_committed_last_is_one_batch(
        self, requests_and_ledger: tuple[Requests, TableLedger]
    ) -> None:
        """With recall, the stock row the seed committed is used unread, checked by its ETag."""
        requests, ledger = requests_and_ledger
        step = partial(ledger.run_once, SKU, "k", reserve, reads=["stock"], recall=True)
        assert requests.during(step) == ["POST $batch"]
        duplicate = requests.during(step)  # the batch fails on the record; then its point read
        assert len(duplicate) == 2 and duplicate[0] == "POST $batch", duplicate
        assert ledger.get(SKU, "stock") == {"PartitionKey": SKU, "RowKey": "stock", "available": 9}

    def test_a_stale_recalled_row_costs_the_rejected_batch_then_the_usual_two(
        self,
        trips_table: tuple[Requests, TableClient],
        requests_and_ledger: tuple[Requests, TableLedger],
    ) -> None:
        """Another process (another ledger, its own memory) restocked: the ETag check fails."""
        requests, ledger = requests_and_ledger
        elsewhere = TableLedger(trips_table[1])
        restock = {"RowKey": "stock", "available": 20}
        elsewhere.run_once(SKU, "restock", lambda uow: uow.upsert(restock))
        step = partial(ledger.run_once, SKU, "k", reserve, reads=["stock"], recall=True)
        sent = requests.during(step)
        assert len(sent) == 3 and sent[0] == sent[2] == "POST $batch", sent
        assert ledger.get(SKU, "stock")["available"] == 19  # type: ignore[index]

    def test_compensation_is_one_query_and_one_batch(
        self, requests_and_ledger: tuple[Requests, TableLedger]
    ) -> None:
        """Both records and the business row come in one query, undo or tombstone in one batch."""
        requests, ledger = requests_and_ledger
        ledger.run_once(SKU, "applied", reserve, reads=["stock"])
        for action_key in ("applied", "never-ran"):
            compensate = partial(ledger.compensate, SKU, action_key, release, reads=["stock"])
            assert len(requests.during(compensate)) == 2
            assert len(requests.during(compensate)) == 1  # its duplicate

    def test_tombstone_and_the_late_action_are_one_request_each(
        self, requests_and_ledger: tuple[Requests, TableLedger]
    ) -> None:
        """A tombstone is a lone create; the late action's query finds it."""
        requests, ledger = requests_and_ledger
        assert len(requests.during(lambda: ledger.tombstone(SKU, "k"))) == 1
        late = partial(ledger.run_once, SKU, "k", reserve, reads=["stock"])
        assert len(requests.during(late)) == 1
