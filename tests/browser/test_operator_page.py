"""The operator pages in a real headless Chromium against the running app: the list, an
order's timeline, and each action clicked through to the saga's end."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from tests.browser.operator import OperatorPage
from tests.e2e.api import OrderApi
from tests.e2e.conftest import devhost_only, e2e_marks

pytestmark = [pytest.mark.browser, *e2e_marks()]

LINE_PRICE_CENTS = 1_500  # 100 lines of these reach the default approval threshold (100000)
BIG_PRICE_CENTS = 60_000  # two of these reach it too


@dataclass
class Shop:
    """One test's own SKUs and customers, so tests sharing the app never interfere."""

    api: OrderApi
    tag: str
    rich: str
    poor: str

    def sku(self, name: str, price_cents: int, available: int = 10) -> str:
        sku = f"{name}{self.tag}"
        self.api.put_stock(sku, available, price_cents)
        return sku

    def awaiting_approval(self) -> str:
        order_id = self.api.place(self.rich, {self.sku("gold", BIG_PRICE_CENTS): 2})
        self.api.wait_for(order_id, frozenset({"AwaitingApproval"}))
        return order_id


@pytest.fixture
def shop(app: OrderApi) -> Shop:
    tag = uuid.uuid4().hex[:8]
    shop = Shop(app, tag, f"rich{tag}", f"poor{tag}")
    app.put_account(shop.rich, 10**9)
    app.put_account(shop.poor, 100)
    return shop


def test_the_list_shows_orders_waiting_for_a_person_first_and_filters_by_status(
    shop: Shop, operator: OperatorPage
) -> None:
    done = shop.api.place(shop.rich, {shop.sku("apple", 250): 1})
    shop.api.wait_for(done)
    waiting = shop.awaiting_approval()
    operator.open_list()
    statuses = operator.listed_statuses()
    assert statuses[0] == "AwaitingApproval"
    listed = operator.listed_orders()
    assert listed.index(waiting) < listed.index(done)
    operator.screenshot("list")
    operator.page.select_option("#status", "Completed")
    operator.page.wait_for_url("**status=Completed**")
    operator.page.wait_for_selector("main[data-ready=true]")
    assert set(operator.listed_statuses()) == {"Completed"}
    assert done in operator.listed_orders()
    assert waiting not in operator.listed_orders()


def test_a_100_line_order_is_approved_from_its_page_and_completes(
    shop: Shop, operator: OperatorPage
) -> None:
    """list -> order -> its timeline (the fan-out grouped, then opened) -> approve -> Completed."""
    lines = {shop.sku(f"line{index}-", LINE_PRICE_CENTS): 1 for index in range(100)}
    order_id = shop.api.place(shop.rich, lines)
    shop.api.wait_for(order_id, frozenset({"AwaitingApproval"}))
    operator.open_order(order_id)
    operator.wait_for_status("AwaitingApproval")
    assert operator.row("reserve").get_attribute("data-kind") == "fan-out"
    assert "100 members · 100 Succeeded" in operator.row("reserve").inner_text()
    assert operator.bars("approval", "gate", "running") == 1
    assert operator.page.locator(".tl-row.member").count() == 0
    operator.page.click("button[data-toggle='reserve']")
    assert operator.page.locator(".tl-row.member").count() == 100
    assert operator.bars("reserve-99", "action", "ok") == 1
    operator.screenshot("order-awaiting-approval")
    operator.act("Approve", comment="fine by me")
    operator.wait_for_status("Completed")
    for step in ("create_order", "charge_payment", "schedule_shipment", "confirm_order"):
        assert operator.bars(step, "action", "ok") == 1, step
    assert operator.bars("approval", "gate", "ok") == 1
    assert operator.page.locator("[data-event='Approval']").text_content() == "Approval: approved"
    assert operator.page.locator("#actions").inner_text().startswith("No action applies")
    operator.screenshot("order-completed")
    assert shop.api.order(order_id)["status"] == "Completed"


def test_a_rejection_with_a_comment_compensates_the_order(
    shop: Shop, operator: OperatorPage
) -> None:
    order_id = shop.awaiting_approval()
    operator.open_order(order_id)
    operator.act("Reject", comment="too expensive for a trial")
    operator.wait_for_status("Compensated")
    failure = operator.page.locator("#failure").inner_text()
    assert "approval — ApprovalRejected" in failure
    assert "too expensive for a trial" in failure
    assert "caused compensation" in operator.row("approval").inner_text()
    assert operator.bars("approval", "gate", "failed") == 1
    assert operator.bars("reserve", "compensation", "ok") == 1
    assert operator.bars("create_order", "compensation", "ok") == 1
    operator.screenshot("order-rejected")


def test_cancel_from_the_page_ends_the_order_cancelled(shop: Shop, operator: OperatorPage) -> None:
    order_id = shop.awaiting_approval()
    operator.open_order(order_id)
    operator.act("Cancel")
    operator.wait_for_status("Cancelled")
    assert operator.page.locator("[data-event='Cancel']").count() == 1
    assert operator.bars("create_order", "compensation", "ok") == 1
    operator.screenshot("order-cancelled")


@devhost_only("fault injection (POST /admin/faults)")
def test_retry_compensation_from_the_page_finishes_a_parked_order(
    shop: Shop, operator: OperatorPage
) -> None:
    """release_inventory keeps failing: the page shows what needs attention; once the cause is
    gone, the operator's retry finishes the compensation."""
    shop.api.inject_fault("fail", "release_inventory", times=None)
    try:
        order_id = shop.api.place(shop.poor, {shop.sku("apple", 250): 1})  # fails at the charge
        shop.api.wait_for(order_id, frozenset({"NeedsAttention"}), timeout=90)
        operator.open_order(order_id)
        operator.wait_for_status("NeedsAttention")
        operator.page.click("button[data-toggle='reserve']")
        assert "needs attention" in operator.row("reserve").inner_text()
        assert operator.bars("reserve-0", "compensation", "fault") >= 2
        assert operator.bars("reserve-0", "backoff") >= 1
        assert "caused compensation" in operator.row("charge_payment").inner_text()
        assert operator.bars("charge_payment", "action", "failed") == 1
        operator.screenshot("order-needs-attention")
    finally:
        shop.api.clear_faults()
    operator.act("Retry compensation")
    operator.wait_for_status("Compensated")
    assert operator.bars("reserve-0", "compensation", "ok") == 1
    assert operator.page.locator("[data-event='RetryCompensation']").count() == 1
    operator.screenshot("order-compensated-after-retry")
