"""The transfer saga end to end in-process: the real app on devhost (real SDK replay, virtual
time), the Accounts table on its in-memory twin and on Azurite (the `world` fixture). Each
transfer starts the way the generic HTTP surface starts it: ``TRANSFER_PUBLIC.to_input`` over a
validated request, under its orchestrator name."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.transfer import TRANSFER_PUBLIC, TransferRequest, TransferSummary
from devhost.testing import DevHost
from services.payments import get_account
from shared.saga.step_entries import step_list
from shared.settings import get_settings
from tests.integration.shop import BALANCE, open_shop, result
from tests.world import World

BIG = 200_000  # over the default approval threshold (100,000 cents); rich has 1,000,000


@pytest.fixture
def bank(world: World) -> Iterator[DevHost]:
    """The app with funded accounts alice (10,000), bob (500) and rich (1,000,000)."""
    with open_shop(world) as host:
        assert get_settings().approval_threshold_cents <= BIG
        yield host


def transfer(host: DevHost, source: str, destination: str, amount_cents: int) -> str:
    """Start a transfer saga; its id is the instance id."""
    request = TransferRequest.model_validate(
        {"fromAccount": source, "toAccount": destination, "amountCents": amount_cents}
    )
    saga_id = f"{TRANSFER_PUBLIC.name}-{uuid.uuid4().hex}"
    saga_input = TRANSFER_PUBLIC.to_input(request, saga_id, "hash").to_wire()
    return host.start(TRANSFER_PUBLIC.orchestrator, saga_input, instance_id=saga_id)


def balances() -> dict[str, int]:
    accounts = {name: get_account(name) for name in BALANCE}
    return {name: account["balanceCents"] for name, account in accounts.items() if account}


def moved(*transfers: tuple[str, str, int]) -> dict[str, int]:
    """The balances after exactly these transfers (and nothing else) went through."""
    expected = dict(BALANCE)
    for source, destination, amount in transfers:
        expected[source] -= amount
        expected[destination] += amount
    return expected


def statuses(summary: dict[str, Any]) -> list[str]:
    return [step["status"] for step in step_list(summary["steps"])]


def failure(summary: dict[str, Any]) -> tuple[str, str]:
    return (summary["failure"]["step"], summary["failure"]["code"])


def awaiting_approval(host: DevHost, saga_id: str) -> dict[str, Any]:
    host.wait_for(saga_id, "Running", skip_time=False)
    host.wait_idle()
    progress = host.custom_status(saga_id)
    assert progress["status"] == "AwaitingApproval"
    return progress


class TestHappyPath:
    def test_a_transfer_completes_and_moves_the_money_once(self, bank: DevHost) -> None:
        saga_id = transfer(bank, "alice", "bob", 2_500)
        summary = result(bank, saga_id)
        assert summary["saga"] == "transfer"
        assert summary["status"] == "Completed"
        assert summary["failure"] is None
        assert statuses(summary) == ["Succeeded", "Skipped", "Succeeded"]
        assert summary["summary"] == {"amountCents": 2_500, "debited": True, "credited": True}
        TransferSummary.model_validate(summary["summary"])  # what the API documents
        assert summary["results"]["debit"] == {"debitedCents": 2_500}
        assert summary["results"]["credit"] == {"creditedCents": 2_500}
        assert balances() == moved(("alice", "bob", 2_500))

    def test_the_whole_balance_may_go(self, bank: DevHost) -> None:
        assert result(bank, transfer(bank, "bob", "alice", 500))["status"] == "Completed"
        assert balances() == moved(("bob", "alice", 500))


class TestBusinessFailures:
    def test_insufficient_funds_fail_the_debit_and_nothing_moves(self, bank: DevHost) -> None:
        summary = result(bank, transfer(bank, "bob", "alice", 501))
        assert summary["status"] == "Compensated"
        assert failure(summary) == ("debit", "InsufficientFunds")
        # The engine compensates a failed step too (its action may have half-applied): the
        # credit back finds no debit applied and returns nothing.
        assert statuses(summary) == ["Compensated", "Skipped", "Skipped"]
        assert summary["summary"] == {"amountCents": 501, "debited": False, "credited": False}
        assert balances() == moved()

    def test_an_unknown_source_fails_the_debit(self, bank: DevHost) -> None:
        summary = result(bank, transfer(bank, "nobody", "alice", 100))
        assert (summary["status"], failure(summary)) == (
            "Compensated",
            ("debit", "AccountNotFound"),
        )
        assert get_account("nobody") is None
        assert balances() == moved()

    def test_an_unknown_destination_fails_the_pivot_and_the_debit_is_credited_back(
        self, bank: DevHost
    ) -> None:
        summary = result(bank, transfer(bank, "alice", "nobody", 1_000))
        assert summary["status"] == "Compensated"
        assert failure(summary) == ("credit", "AccountNotFound")
        assert statuses(summary) == ["Compensated", "Skipped", "Failed"]
        assert get_account("nobody") is None
        assert balances() == moved()


class TestApproval:
    def test_a_big_transfer_holds_the_money_until_approved(self, bank: DevHost) -> None:
        saga_id = transfer(bank, "rich", "alice", BIG)
        progress = awaiting_approval(bank, saga_id)
        # The approver sees the amount; the debit already holds the money, the credit waits.
        assert progress["summary"] == {"amountCents": BIG, "debited": True, "credited": False}
        assert balances() == {**moved(), "rich": BALANCE["rich"] - BIG}
        bank.raise_event(saga_id, TRANSFER_PUBLIC.approval_event or "", {"approved": True})
        summary = result(bank, saga_id, skip_time=False)
        assert summary["status"] == "Completed"
        assert statuses(summary) == ["Succeeded", "Succeeded", "Succeeded"]
        assert balances() == moved(("rich", "alice", BIG))

    def test_a_rejected_transfer_is_credited_back(self, bank: DevHost) -> None:
        saga_id = transfer(bank, "rich", "alice", BIG)
        awaiting_approval(bank, saga_id)
        bank.raise_event(saga_id, "Approval", {"approved": False, "comment": "too much"})
        summary = result(bank, saga_id, skip_time=False)
        assert summary["status"] == "Compensated"
        assert failure(summary) == ("approval", "ApprovalRejected")
        assert summary["failure"]["message"] == "too much"
        assert statuses(summary) == ["Compensated", "Failed", "Skipped"]
        assert balances() == moved()

    def test_an_unanswered_approval_times_out(self, bank: DevHost) -> None:
        """The timeout (from the input: a day by default) passes in virtual time."""
        summary = result(bank, transfer(bank, "rich", "alice", BIG))
        assert failure(summary) == ("approval", "ApprovalTimedOut")
        assert balances() == moved()


class TestCancellation:
    def test_cancel_while_awaiting_approval_credits_back(self, bank: DevHost) -> None:
        saga_id = transfer(bank, "rich", "alice", BIG)
        awaiting_approval(bank, saga_id)
        bank.raise_event(saga_id, "Cancel")
        summary = result(bank, saga_id, skip_time=False)
        assert summary["status"] == "Cancelled"
        assert failure(summary) == ("approval", "Cancelled")
        assert statuses(summary)[0] == "Compensated"
        assert balances() == moved()


class TestDeliveryFaults:
    def test_every_activity_delivered_twice_has_one_effect(self, bank: DevHost) -> None:
        """Duplicate delivery of every action and compensation: balances still exact."""
        bank.faults.duplicate_delivery("*", times=None)
        done = transfer(bank, "alice", "bob", 1_234)
        short = transfer(bank, "bob", "rich", 10_000)
        undone = transfer(bank, "alice", "nobody", 3_000)  # debited, then credited back
        assert result(bank, done)["status"] == "Completed"
        assert result(bank, short)["status"] == "Compensated"
        assert failure(result(bank, undone)) == ("credit", "AccountNotFound")
        bank.wait_idle()
        assert balances() == moved(("alice", "bob", 1_234))
