"""Transfers between accounts: debit one account, credit another, each in its own partition.

The two sides live in two partitions of the Accounts table (one per account), and one Table
storage batch cannot span partitions: each side is its own local transaction, and the transfer
saga (orchestrators/transfer_saga.py) ties them together, crediting the debit back when the
credit cannot happen.
"""

from __future__ import annotations

from typing import Any

from azure.durable_functions import Blueprint

from contracts.transfer import MAX_AMOUNT_CENTS, Credit, Credited, Debit, Debited
from services.payments import ACCOUNT_ROW, ACCOUNTS_TABLE, give_back, take
from shared.idempotency import UnitOfWork
from shared.local_steps import local_action, local_compensation
from shared.saga.outcome import failure, ok

# The durable Blueprint, as func.Blueprint lacks activity_trigger (see activities/payments.py).
bp = Blueprint()


def _debited_account(debit: Debit) -> str:
    return debit.account_id


def _credited_account(credit: Credit) -> str:
    return credit.account_id


@bp.activity_trigger(input_name="call")
@local_action(Debit, table=ACCOUNTS_TABLE, partition=_debited_account, reads=[ACCOUNT_ROW])
def debit_account(debit: Debit, uow: UnitOfWork) -> dict[str, Any]:
    """Take the amount from the source account; AccountNotFound or InsufficientFunds."""
    refused = take(uow, debit.account_id, debit.amount_cents)
    return refused or ok(Debited(debited_cents=debit.amount_cents))


@bp.activity_trigger(input_name="call")
@local_compensation(
    Debit, Debited, table=ACCOUNTS_TABLE, partition=_debited_account, reads=[ACCOUNT_ROW]
)
def credit_back(debit: Debit, uow: UnitOfWork, debited: Debited | None) -> dict[str, Any]:
    """Compensates `debit_account`: return exactly what it took; a debit that never happened
    is tombstoned, so a late one does nothing."""
    if debited is None:
        return ok(Credited(credited_cents=0))
    give_back(uow, debit.account_id, debited.debited_cents)
    return ok(Credited(credited_cents=debited.debited_cents))


@bp.activity_trigger(input_name="call")
@local_action(Credit, table=ACCOUNTS_TABLE, partition=_credited_account, reads=[ACCOUNT_ROW])
def credit_account(credit: Credit, uow: UnitOfWork) -> dict[str, Any]:
    """The pivot: give the amount to the destination account; AccountNotFound, or
    BalanceLimitExceeded when the balance would pass 2**53 - 1 cents (no longer exact in JSON).
    Once it succeeds the transfer is done: nothing undoes it."""
    account = uow.get(ACCOUNT_ROW)
    if account is None:
        return failure("AccountNotFound", f"account {credit.account_id!r} does not exist")
    if account["balanceCents"] > MAX_AMOUNT_CENTS - credit.amount_cents:
        return failure(
            "BalanceLimitExceeded",
            f"crediting {credit.amount_cents} cents would take the balance past {MAX_AMOUNT_CENTS}",
        )
    account["balanceCents"] += credit.amount_cents
    uow.update(account)
    return ok(Credited(credited_cents=credit.amount_cents))
