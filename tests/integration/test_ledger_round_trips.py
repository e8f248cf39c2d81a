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
def requests_and_ledger(azurite: str) -> Iterator[tuple[Requests, TableLedger]]:
    """A TableLedger on a fresh table whose client reports each request, with stock 10."""
    name = f"trips{uuid.uuid4().hex[:12]}"
    TableServiceClient.from_connection_string(azurite).create_table(name)
    requests = Requests()
    table = TableClient.from_connection_string(azurite, name, raw_response_hook=requests.hook)
    ledger = TableLedger(table)
    ledger.run_once(SKU, "seed", lambda uow: uow.upsert({"RowKey": "stock", "available": 10}))
    yield requests, ledger
    table.delete_table()


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
