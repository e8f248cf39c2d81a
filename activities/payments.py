"""Payments service: charge and refund accounts; table `Accounts`, one partition per customer."""

from __future__ import annotations

import uuid
from typing import Any

from azure.durable_functions import Blueprint

from shared.chaos import chaotic
from shared.idempotency import LedgerRecord, UnitOfWork
from shared.ledgers import applied_value, ledger_for, reply
from shared.models import ChargePayment, StepCall, whole_number
from shared.saga.activity import saga_activity
from shared.saga.outcome import failure, ok

ACCOUNTS_TABLE = "Accounts"
ACCOUNT_ROW = "account"

# The durable Blueprint, as func.Blueprint lacks activity_trigger; imported by name because mypy
# rejects `import azure.durable_functions as df` where no typed azure package is imported too.
bp = Blueprint()


@bp.activity_trigger(input_name="call")
@saga_activity
@chaotic
def charge_payment(call: dict) -> dict[str, Any]:
    """Debit the order's amount from the customer's account; AccountNotFound or
    InsufficientFunds."""
    step = StepCall.parse(call, ChargePayment)
    charge = step.input

    def transaction(uow: UnitOfWork) -> dict[str, Any]:
        account = uow.get(ACCOUNT_ROW)
        if account is None:
            return failure("AccountNotFound", f"customer {charge.customer_id!r} has no account")
        if account["balanceCents"] < charge.amount_cents:
            return failure(
                "InsufficientFunds",
                f"{charge.amount_cents} cents wanted, the balance is {account['balanceCents']}",
            )
        account["balanceCents"] -= charge.amount_cents
        uow.update(account)
        return ok({"chargedCents": charge.amount_cents})

    record = ledger_for(ACCOUNTS_TABLE).run_once(
        charge.customer_id, step.key, transaction, reads=[ACCOUNT_ROW], request=charge.to_json()
    )
    return reply(record)


@bp.activity_trigger(input_name="call")
@saga_activity
@chaotic
def refund_payment(call: dict) -> dict[str, Any]:
    """Compensates `charge_payment`: credit back exactly what it took; tombstone a charge that
    never happened, so a late one does nothing."""
    step = StepCall.parse(call, ChargePayment)
    customer_id = step.input.customer_id

    def undo(uow: UnitOfWork, action: LedgerRecord | None) -> dict[str, Any]:
        charged = applied_value(action)
        if charged is None:
            return ok({"refundedCents": 0})
        account = uow.get(ACCOUNT_ROW)
        if account is None:  # this app never deletes accounts; an operator must look
            raise ValueError(f"customer {customer_id!r} has a charge to refund but no account")
        account["balanceCents"] += charged["chargedCents"]
        uow.update(account)
        return ok({"refundedCents": charged["chargedCents"]})

    ledger = ledger_for(ACCOUNTS_TABLE)
    record = ledger.compensate(customer_id, step.action_key, undo, reads=[ACCOUNT_ROW])
    return record.result


def put_account(customer_id: str, balance_cents: int) -> dict[str, Any]:
    """Create or replace a customer's account with this balance; the account view."""
    whole_number(balance_cents, "balance_cents")

    def transaction(uow: UnitOfWork) -> dict[str, Any]:
        uow.upsert({"RowKey": ACCOUNT_ROW, "balanceCents": balance_cents})
        return {"customerId": customer_id, "balanceCents": balance_cents}

    # Through the ledger so every write to the table is keyed alike; each PUT is a new request.
    key = f"put-account:{uuid.uuid4().hex}"
    return ledger_for(ACCOUNTS_TABLE).run_once(customer_id, key, transaction).result


def get_account(customer_id: str) -> dict[str, Any] | None:
    """`{"customerId", "balanceCents"}`, or None for a customer without an account."""
    row = ledger_for(ACCOUNTS_TABLE).get(customer_id, ACCOUNT_ROW)
    return {"customerId": customer_id, "balanceCents": row["balanceCents"]} if row else None
