"""The order saga end to end in-process: the real app on devhost (real SDK replay, virtual time)
with every service's data on the in-memory twins (each style) and in Table storage on Azurite
(the declarative style; both styles meet Azurite in the record comparison, the 100-line order
and the properties in test_order_saga_properties.py)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from api.order_view import ORCHESTRATORS
from devhost.history import EventType
from devhost.limits import host_json_text, utf16_kilobytes
from devhost.testing import DevHost
from orchestrators.order_saga import ORDER_SAGA, STEP_TIMEOUT_SECONDS
from services.inventory import INVENTORY_TABLE, get_stock, put_stock
from shared.ledgers import ledger_for
from shared.saga.status import worst_case
from shared.saga.step_entries import step_list
from shared.settings import SAGA_STYLES, get_settings
from tests.integration.shop import (
    PRICE,
    STOCK,
    assert_books_balance,
    open_shop,
    order_input,
    order_row,
    order_steps,
    place,
    result,
)
from tests.polling import eventually
from tests.world import open_world, world_for

# Every behaviour on the in-memory twins in each style, and on Azurite in one style.
SHOPS = [pytest.param(("memory", style), id=f"memory-{style}") for style in SAGA_STYLES] + [
    pytest.param(
        ("tables", SAGA_STYLES[0]), marks=pytest.mark.azurite, id=f"tables-{SAGA_STYLES[0]}"
    )
]


@pytest.fixture(params=SHOPS)
def shop(request: pytest.FixtureRequest) -> Iterator[DevHost]:
    """The shop on each storage and ORDER_SAGA_STYLE in SHOPS: every test must hold for all."""
    storage, style = request.param
    with world_for(request, storage) as world, open_shop(world, style=style) as host:
        yield host


class TestHappyPath:
    def test_an_order_completes_and_moves_stock_and_money_once(self, shop: DevHost) -> None:
        """Two lines: reserved, charged 2*150 + 1*200, shipped, confirmed."""
        order_id = place(shop, "alice", {"apple": 2, "pear": 1})
        summary = result(shop, order_id)
        assert summary["status"] == "Completed"
        assert summary["failure"] is None
        statuses = {step["name"]: step["status"] for step in step_list(summary["steps"])}
        assert list(statuses) == order_steps({"apple": 2, "pear": 1})
        assert statuses.pop("approval") == "Skipped"  # 500 cents: under the threshold
        assert set(statuses.values()) == {"Succeeded"}
        assert order_row(order_id)["status"] == "Confirmed"
        assert order_row(order_id)["totalCents"] == 500
        assert shop.state(order_id).name == ORCHESTRATORS[get_settings().order_saga_style]
        assert get_stock("apple")["reserved"] == 2
        assert_books_balance([("alice", {"apple": 2, "pear": 1})])


class TestBusinessFailures:
    @pytest.mark.parametrize(
        ("customer", "lines", "country", "step", "code"),
        [
            ("alice", {"apple": 11}, "NL", "reserve-0", "OutOfStock"),
            ("alice", {"apple": 1, "plum": 1}, "NL", "reserve-1", "UnknownSku"),
            ("nobody", {"apple": 1}, "NL", "charge_payment", "AccountNotFound"),
            ("bob", {"pear": 3}, "NL", "charge_payment", "InsufficientFunds"),
            ("alice", {"apple": 1}, "AQ", "schedule_shipment", "ShippingUnavailable"),
        ],
    )
    def test_each_failure_compensates_everything_done_before_it(
        self,
        shop: DevHost,
        customer: str,
        lines: dict[str, int],
        country: str,
        step: str,
        code: str,
    ) -> None:
        """The saga ends Compensated with the failure's code; stock and balances are as before."""
        order_id = place(shop, customer, lines, country)
        summary = result(shop, order_id)
        assert summary["status"] == "Compensated"
        assert (summary["failure"]["step"], summary["failure"]["code"]) == (step, code)
        assert order_row(order_id)["status"] == "Cancelled"
        assert_books_balance([])
        assert all(get_stock(sku)["reserved"] == 0 for sku in STOCK)


class TestApproval:
    def test_a_big_order_waits_for_approval_then_completes(self, shop: DevHost) -> None:
        """Total >= the threshold: AwaitingApproval until approved."""
        order_id = place(shop, "rich", {"gold": 2})
        shop.wait_for(order_id, "Running", skip_time=False)
        shop.wait_idle()
        progress = shop.custom_status(order_id)
        assert progress["status"] == "AwaitingApproval"
        assert progress["summary"] == {"totalCents": 2 * PRICE["gold"]}  # the approver sees it
        shop.raise_event(order_id, "Approval", {"approved": True})
        assert result(shop, order_id, skip_time=False)["status"] == "Completed"
        assert_books_balance([("rich", {"gold": 2})])

    def test_a_rejected_order_is_compensated(self, shop: DevHost) -> None:
        order_id = place(shop, "rich", {"gold": 2})
        shop.wait_idle()
        shop.raise_event(order_id, "Approval", {"approved": False, "comment": "too much"})
        summary = result(shop, order_id, skip_time=False)
        assert summary["failure"]["code"] == "ApprovalRejected"
        assert_books_balance([])

    def test_an_unanswered_approval_times_out_after_a_day(self, shop: DevHost) -> None:
        """The 24 h timeout passes in virtual time; the reservation is released."""
        order_id = place(shop, "rich", {"gold": 2})
        summary = result(shop, order_id)
        assert summary["failure"]["code"] == "ApprovalTimedOut"
        assert_books_balance([])


class TestCancellation:
    def test_cancel_before_the_pivot_compensates(self, shop: DevHost) -> None:
        order_id = place(shop, "rich", {"gold": 2, "apple": 1})
        shop.wait_idle()  # waiting for approval, stock reserved
        shop.raise_event(order_id, "Cancel")
        assert result(shop, order_id, skip_time=False)["status"] == "Cancelled"
        assert_books_balance([])


class TestDeliveryFaults:
    def test_every_activity_delivered_twice_has_one_effect(self, shop: DevHost) -> None:
        """Duplicate delivery of every activity (and compensation): books still exact."""
        shop.faults.duplicate_delivery("*", times=None)
        ok = place(shop, "alice", {"apple": 3})
        failed = place(shop, "bob", {"pear": 3})
        assert result(shop, ok)["status"] == "Completed"
        assert result(shop, failed)["status"] == "Compensated"
        shop.wait_idle()
        assert_books_balance([("alice", {"apple": 3})])

    def test_concurrent_duplicates_and_lost_replies_have_one_effect(self, shop: DevHost) -> None:
        """Concurrent duplicate deliveries, then a crash after every commit: books still exact."""
        shop.faults.duplicate_delivery("*", times=4, concurrent=True)
        shop.faults.crash_after_commit("*", times=None)
        ok = place(shop, "alice", {"apple": 1, "pear": 2})
        failed = place(shop, "alice", {"apple": 1}, "AQ")
        assert result(shop, ok)["status"] == "Completed"
        assert result(shop, failed)["status"] == "Compensated"
        shop.wait_idle()
        assert_books_balance([("alice", {"apple": 1, "pear": 2})])


class TestTimeouts:
    def test_a_reservation_that_commits_after_its_timeout_has_no_effect(
        self, shop: DevHost, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The reservation is held back until its step timed out and the saga compensated
        (tombstoning it); when it finally runs it finds the tombstone and changes nothing."""
        started, release = threading.Event(), threading.Event()
        ledger_class = type(ledger_for(INVENTORY_TABLE))  # TableLedger or MemoryLedger
        original = ledger_class.run_once

        late: list[str] = []

        def held_back(self: Any, partition: str, key: str, *args: Any, **kw: Any) -> Any:
            if key.endswith(":reserve-0"):
                started.set()
                assert release.wait(timeout=30)
                late.append("ran")
            return original(self, partition, key, *args, **kw)

        monkeypatch.setattr(ledger_class, "run_once", held_back)
        order_id = place(shop, "alice", {"apple": 4})
        assert started.wait(timeout=10)
        shop.advance(STEP_TIMEOUT_SECONDS + 1, settle=False)
        # The saga compensates while the reservation is still held back; as on the real host,
        # the instance stays Running until that activity, which it scheduled, has settled.
        eventually(
            lambda: shop.custom_status(order_id)["status"] == "Compensated",
            timeout=10,
            what="the saga compensating",
            every=0.01,
        )
        assert shop.state(order_id).runtime_status == "Running"
        release.set()
        shop.wait_for(order_id, skip_time=False)
        summary = shop.output(order_id)
        assert summary["status"] == "Compensated"
        assert summary["failure"]["code"] == "StepTimedOut"
        shop.wait_idle()
        assert late == ["ran"]
        assert get_stock("apple") == {
            "sku": "apple",
            "available": 10,
            "reserved": 0,
            "unitPriceCents": 150,
        }
        assert_books_balance([])


@pytest.mark.slow
@pytest.mark.azurite
class TestStrictHostLimits:
    @pytest.mark.parametrize("style", SAGA_STYLES)
    def test_a_100_line_order_with_every_step_retried_stays_within_the_status_limit(
        self, azurite: str, style: str
    ) -> None:
        """The largest order the API accepts, every step failing before it succeeds, runs on the
        strict devhost (which fails an orchestrator whose custom status tops the host's 16 KB of
        UTF-16, measured as the Durable extension does in devhost.limits) and its progress record
        stays within the bound the engine checked the saga against before its first step. The
        replay check is off here: it would double the cost of the SDK replaying a long history at
        every episode, and other tests cover determinism."""
        with (
            open_world("tables", azurite) as world,
            open_shop(world, replay_check=False, style=style) as shop,
        ):
            self._run(shop)

    @staticmethod
    def _run(shop: DevHost) -> None:
        skus = [f"bulk-{index:03d}" for index in range(100)]
        for sku in skus:
            put_stock(sku, 5, 1)
        retried = {
            "create_order": 2,
            "reserve_inventory": 100,  # a failed attempt for every line
            "charge_payment": 4,
            "schedule_shipment": 3,
            "confirm_order": 3,
        }
        for activity, failures in retried.items():
            shop.faults.fail(activity, times=failures)
        order_id = place(shop, "alice", {sku: 1 for sku in skus})
        assert result(shop, order_id, timeout=300)["status"] == "Completed"
        record = shop.custom_status(order_id)
        saga_input = order_input(order_id, "alice", {sku: 1 for sku in skus})
        bound = worst_case(ORDER_SAGA.for_input(saga_input))
        assert utf16_kilobytes(host_json_text(record)) <= utf16_kilobytes(host_json_text(bound))
        attempts = {step["name"]: step["attempts"] for step in step_list(record["steps"])}
        assert [attempts[f"reserve-{index}"] >= 2 for index in range(100)] == [True] * 100
        assert (attempts["create_order"], attempts["charge_payment"]) == (3, 5)


@pytest.mark.azurite
class TestBothStylesAlike:
    """The same order under each orchestrator, each in a fresh shop: the records they publish
    and the calls they make (names, idempotency keys, inputs) are the same, bar what the clock
    stamps."""

    @pytest.mark.parametrize(
        ("customer", "lines", "country", "decision"),
        [
            ("alice", {"apple": 2, "pear": 1}, "NL", None),
            ("alice", {"apple": 1, "plum": 1}, "NL", None),
            ("bob", {"pear": 3}, "NL", None),
            ("alice", {"apple": 1}, "AQ", None),
            ("rich", {"gold": 2, "apple": 1}, "NL", {"approved": True, "comment": "ok"}),
            ("rich", {"gold": 2}, "NL", {"approved": False, "comment": "too much"}),
            ("rich", {"gold": 2}, "NL", "Cancel"),
        ],
    )
    def test_the_record_and_the_calls_are_the_same(
        self,
        azurite: str,
        customer: str,
        lines: dict[str, int],
        country: str,
        decision: Any,
    ) -> None:
        seen = []
        for style in SAGA_STYLES:
            with open_world("tables", azurite) as world, open_shop(world, style=style) as shop:
                order_id = place(shop, customer, lines, country, order_id="order-alike")
                shop.wait_idle()
                if decision == "Cancel":
                    shop.raise_event(order_id, "Cancel")
                elif decision is not None:
                    shop.raise_event(order_id, "Approval", decision)
                output = result(shop, order_id, skip_time=False)
                assert shop.state(order_id).name == ORCHESTRATORS[style]
                seen.append(_comparable((output, _calls(shop, order_id))))
        declarative, imperative = seen
        assert declarative[1]  # the calls were read
        assert declarative == imperative


def _calls(shop: DevHost, order_id: str) -> list[tuple[str, Any]]:
    history = shop.state(order_id).history
    scheduled = [e for e in history if e["EventType"] == EventType.TASK_SCHEDULED]
    return [(event["Name"], json.loads(event["Input"])) for event in scheduled]


def _comparable(value: Any) -> Any:
    """``value`` with every timestamp masked (activities stamp rows with the wall clock), so two
    runs of one order compare, whatever their steps return."""
    text = re.sub(r'"\d{4}-\d\d-\d\dT[^"]*"', '"<time>"', json.dumps(value))
    return json.loads(text)
