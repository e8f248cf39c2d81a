"""The order API end to end, driven over real HTTP only: a devhost process on Azurite, or the host
that E2E_BASE_URL names."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from api.order_view import ORCHESTRATORS
from tests.e2e.api import OrderApi
from tests.e2e.conftest import devhost_only, e2e_marks

pytestmark = e2e_marks()

PRICE_CENTS = 250
BIG_PRICE_CENTS = 60_000  # two of these reach the default approval threshold (100000)


@dataclass
class Shop:
    """One test's own SKUs and customers, so tests sharing the app never interfere."""

    api: OrderApi
    sku: str
    big_sku: str
    alice: str
    poor: str

    def books(self) -> tuple[int, int, int, int]:
        return (
            self.api.stock(self.sku)["available"],
            self.api.stock(self.big_sku)["available"],
            self.api.balance(self.alice),
            self.api.balance(self.poor),
        )


@pytest.fixture
def shop(app: OrderApi) -> Shop:
    tag = uuid.uuid4().hex[:8]
    shop = Shop(app, f"apple{tag}", f"gold{tag}", f"alice{tag}", f"poor{tag}")
    app.put_stock(shop.sku, 10, PRICE_CENTS)
    app.put_stock(shop.big_sku, 4, BIG_PRICE_CENTS)
    app.put_account(shop.alice, 1_000_000)
    app.put_account(shop.poor, 100)
    return shop


@devhost_only("a devhost process started with a known ORDER_SAGA_STYLE")
def test_the_configured_style_runs_every_new_order(shop: Shop) -> None:
    """ORDER_SAGA_STYLE picks the orchestrator; the order's API view does not show which."""
    order_id = shop.api.place(shop.alice, {shop.sku: 1})
    assert shop.api.wait_for(order_id)["status"] == "Completed"
    assert shop.api.style is not None
    assert shop.api.instance_status(order_id)["name"] == ORCHESTRATORS[shop.api.style]


def test_an_order_completes_and_moves_stock_and_money(shop: Shop) -> None:
    order_id = shop.api.place(shop.alice, {shop.sku: 3})
    order = shop.api.wait_for(order_id)
    assert order["status"] == "Completed"
    assert order["totalCents"] == 3 * PRICE_CENTS
    assert order["failure"] is None
    assert order["customerId"] == shop.alice
    assert shop.books() == (7, 4, 1_000_000 - 3 * PRICE_CENTS, 100)
    assert shop.api.stock(shop.sku)["reserved"] == 3


@pytest.mark.parametrize(
    ("who", "lines", "country", "code"),
    [
        ("alice", {"sku": 11}, "NL", "OutOfStock"),
        ("alice", {"sku": 1, "unknown": 1}, "NL", "UnknownSku"),
        ("nobody", {"sku": 1}, "NL", "AccountNotFound"),
        ("poor", {"sku": 1}, "NL", "InsufficientFunds"),
        ("alice", {"sku": 1}, "AQ", "ShippingUnavailable"),
    ],
)
def test_a_business_failure_compensates_and_restores_the_books(
    shop: Shop, who: str, lines: dict[str, int], country: str, code: str
) -> None:
    before = shop.books()
    customer = {"alice": shop.alice, "poor": shop.poor}.get(who, f"nobody{uuid.uuid4().hex[:6]}")
    named = {shop.sku if sku == "sku" else f"nosuch{uuid.uuid4().hex[:6]}": n for sku, n in
             lines.items()}  # fmt: skip
    order = shop.api.wait_for(shop.api.place(customer, named, country))
    assert order["status"] == "Compensated"
    assert order["failure"]["code"] == code
    assert shop.books() == before


class TestIdempotency:
    def test_the_same_key_and_body_again_is_the_same_order(self, shop: Shop) -> None:
        """A retried POST returns the same order and starts no second saga."""
        key = uuid.uuid4().hex
        first = shop.api.post_order(shop.alice, {shop.sku: 1}, key=key)
        second = shop.api.post_order(shop.alice, {shop.sku: 1}, key=key)
        assert first.status_code == second.status_code == 202
        assert first.json()["orderId"] == second.json()["orderId"]
        assert first.headers["Location"] == f"/api/orders/{first.json()['orderId']}"
        order_id = first.json()["orderId"]
        shop.api.wait_for(order_id)
        third = shop.api.post_order(shop.alice, {shop.sku: 1}, key=key)  # after it finished
        assert third.json()["orderId"] == order_id
        started = [e for e in shop.api.instance_history(order_id)
                   if e["EventType"] == "ExecutionStarted"]  # fmt: skip
        assert len(started) == 1
        assert shop.books()[0] == 9

    def test_concurrent_duplicates_start_exactly_one_saga(self, shop: Shop) -> None:
        key = uuid.uuid4().hex
        with ThreadPoolExecutor(max_workers=10) as pool:
            responses = list(
                pool.map(lambda _: shop.api.post_order(shop.alice, {shop.sku: 2}, key=key),
                         range(10))
            )  # fmt: skip
        assert {r.status_code for r in responses} == {202}
        assert len({r.json()["orderId"] for r in responses}) == 1
        order_id = responses[0].json()["orderId"]
        assert shop.api.wait_for(order_id)["status"] == "Completed"
        started = [e for e in shop.api.instance_history(order_id)
                   if e["EventType"] == "ExecutionStarted"]  # fmt: skip
        assert len(started) == 1
        assert shop.books()[0] == 8

    def test_the_same_key_with_another_body_is_a_conflict(self, shop: Shop) -> None:
        key = uuid.uuid4().hex
        assert shop.api.post_order(shop.alice, {shop.sku: 1}, key=key).status_code == 202
        conflict = shop.api.post_order(shop.alice, {shop.sku: 2}, key=key)
        assert conflict.status_code == 409
        assert conflict.headers["Content-Type"].startswith("application/problem+json")

    def test_the_same_key_from_another_customer_is_another_order(self, shop: Shop) -> None:
        key = uuid.uuid4().hex
        mine = shop.api.post_order(shop.alice, {shop.sku: 1}, key=key).json()["orderId"]
        theirs = shop.api.post_order(shop.poor, {shop.sku: 1}, key=key).json()["orderId"]
        assert mine != theirs


class TestApprovalAndCancel:
    def test_a_big_order_waits_for_approval_then_completes(self, shop: Shop) -> None:
        order_id = shop.api.place(shop.alice, {shop.big_sku: 2})
        shop.api.wait_for(order_id, frozenset({"AwaitingApproval"}))
        assert shop.api.command(order_id, "approval", {"approved": True}).status_code == 202
        assert shop.api.wait_for(order_id)["status"] == "Completed"
        assert shop.books()[1] == 2

    def test_a_rejected_order_is_compensated(self, shop: Shop) -> None:
        before = shop.books()
        order_id = shop.api.place(shop.alice, {shop.big_sku: 2})
        shop.api.wait_for(order_id, frozenset({"AwaitingApproval"}))
        assert shop.api.command(order_id, "approval", {"approved": False}).status_code == 202
        order = shop.api.wait_for(order_id)
        assert (order["status"], order["failure"]["code"]) == ("Compensated", "ApprovalRejected")
        assert shop.books() == before

    @devhost_only("virtual time (--time-scale 60 passes the 600 s approval window in 10 s)")
    def test_an_unanswered_approval_times_out(self, shop: Shop) -> None:
        """The approval window (600 durable seconds here) passes; the order is compensated."""
        before = shop.books()
        order = shop.api.wait_for(shop.api.place(shop.alice, {shop.big_sku: 2}), timeout=60)
        assert order["failure"]["code"] == "ApprovalTimedOut"
        assert shop.books() == before

    def test_approval_is_409_when_nothing_waits_for_it(self, shop: Shop) -> None:
        order_id = shop.api.place(shop.alice, {shop.sku: 1})
        shop.api.wait_for(order_id)
        assert shop.api.command(order_id, "approval", {"approved": True}).status_code == 409

    def test_cancel_before_the_pivot_compensates(self, shop: Shop) -> None:
        before = shop.books()
        order_id = shop.api.place(shop.alice, {shop.big_sku: 2})
        shop.api.wait_for(order_id, frozenset({"AwaitingApproval"}))
        assert shop.api.command(order_id, "cancel").status_code == 202
        assert shop.api.wait_for(order_id)["status"] == "Cancelled"
        assert shop.books() == before
        assert shop.api.command(order_id, "cancel").status_code == 409

    def test_commands_on_unknown_orders_are_404(self, shop: Shop) -> None:
        for action, body in (("cancel", None), ("approval", {"approved": True}),
                             ("retry-compensation", None)):  # fmt: skip
            assert shop.api.command("o-does-not-exist", action, body).status_code == 404


@devhost_only("fault injection (POST /admin/faults)")
def test_a_failing_compensation_waits_for_an_operator_then_completes(shop: Shop) -> None:
    """release_inventory keeps failing: NeedsAttention with the step recorded; once the cause
    is gone, retry-compensation finishes the compensation and the books are exact."""
    before = shop.books()
    shop.api.inject_fault("fail", "release_inventory", times=None)
    try:
        order_id = shop.api.place(shop.poor, {shop.sku: 1})  # fails at charge_payment
        order = shop.api.wait_for(order_id, frozenset({"NeedsAttention"}), timeout=90)
        assert shop.api.command(order_id, "approval", {"approved": True}).status_code == 409
    finally:
        shop.api.clear_faults()
    assert shop.api.command(order_id, "retry-compensation").status_code == 202
    order = shop.api.wait_for(order_id)
    assert (order["status"], order["failure"]["code"]) == ("Compensated", "InsufficientFunds")
    assert shop.books() == before
