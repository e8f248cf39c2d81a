"""Payments service data: table `Accounts`, one partition per customer with one `account` row."""

from __future__ import annotations

from typing import Any

from services.tables import declared
from shared.idempotency import UnitOfWork
from shared.ledgers import ledger_for
from shared.numbers import whole_number
from shared.saga.outcome import failure

ACCOUNTS_TABLE = declared("Accounts")
ACCOUNT_ROW = "account"


def put_account(customer_id: str, balance_cents: int) -> dict[str, Any]:
    """Create or replace a customer's account with this balance; the account view."""
    whole_number(balance_cents, "balance_cents")

    def transaction(uow: UnitOfWork) -> dict[str, Any]:
        uow.upsert({"RowKey": ACCOUNT_ROW, "balanceCents": balance_cents})
        return {"customerId": customer_id, "balanceCents": balance_cents}

    # Without a record: setting a balance twice does no harm (see put_stock).
    view: dict[str, Any] = ledger_for(ACCOUNTS_TABLE).write(customer_id, transaction)
    return view


def get_account(customer_id: str) -> dict[str, Any] | None:
    """`{"customerId", "balanceCents"}`, or None for a customer without an account."""
    row = ledger_for(ACCOUNTS_TABLE).get(customer_id, ACCOUNT_ROW)
    return {"customerId": customer_id, "balanceCents": row["balanceCents"]} if row else None


def take(uow: UnitOfWork, owner: str, cents: int) -> dict[str, Any] | None:
    """Stage taking ``cents`` from the account in this unit of work; the business failure
    (AccountNotFound, InsufficientFunds) instead, with nothing staged."""
    account = uow.get(ACCOUNT_ROW)
    if account is None:
        return failure("AccountNotFound", f"account {owner!r} does not exist")
    if account["balanceCents"] < cents:
        return failure(
            "InsufficientFunds", f"{cents} cents wanted, the balance is {account['balanceCents']}"
        )
    uow.update({**account, "balanceCents": account["balanceCents"] - cents})
    return None


def give_back(uow: UnitOfWork, owner: str, cents: int) -> None:
    """Stage returning ``cents`` taken earlier (a compensation: the account must exist)."""
    account = uow.get(ACCOUNT_ROW)
    if account is None:  # this app never deletes accounts; an operator must look
        raise ValueError(f"account {owner!r} has {cents} cents to get back but is gone")
    uow.update({**account, "balanceCents": account["balanceCents"] + cents})
