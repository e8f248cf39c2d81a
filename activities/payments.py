"""Payments service: charge and refund accounts, one partition per customer."""

from __future__ import annotations

from typing import Any

from azure.durable_functions import Blueprint

from contracts.order import Charged, ChargePayment, Refunded
from services.payments import ACCOUNT_ROW, ACCOUNTS_TABLE, give_back, take
from shared.idempotency import UnitOfWork
from shared.local_steps import local_action, local_compensation
from shared.saga.outcome import ok

# The durable Blueprint, as func.Blueprint lacks activity_trigger; imported by name because mypy
# rejects `import azure.durable_functions as df` where no typed azure package is imported too.
bp = Blueprint()


def _customer(charge: ChargePayment) -> str:
    return charge.customer_id


@bp.activity_trigger(input_name="call")
@local_action(ChargePayment, table=ACCOUNTS_TABLE, partition=_customer, reads=[ACCOUNT_ROW])
def charge_payment(charge: ChargePayment, uow: UnitOfWork) -> dict[str, Any]:
    """Debit the order's amount from the customer's account; AccountNotFound or
    InsufficientFunds."""
    refused = take(uow, charge.customer_id, charge.amount_cents)
    return refused or ok(Charged(charged_cents=charge.amount_cents))


@bp.activity_trigger(input_name="call")
@local_compensation(
    ChargePayment, Charged, table=ACCOUNTS_TABLE, partition=_customer, reads=[ACCOUNT_ROW]
)
def refund_payment(
    charge: ChargePayment, uow: UnitOfWork, charged: Charged | None
) -> dict[str, Any]:
    """Compensates `charge_payment`: credit back exactly what it took; a charge that never
    happened is tombstoned, so a late one does nothing."""
    if charged is None:
        return ok(Refunded(refunded_cents=0))
    give_back(uow, charge.customer_id, charged.charged_cents)
    return ok(Refunded(refunded_cents=charged.charged_cents))
