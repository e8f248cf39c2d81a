"""The transfer saga: debit the source account, approve big transfers, credit the destination.

Each side is a local transaction in its own partition of the Accounts table; the credit is the
pivot, so a transfer whose credit cannot happen (unknown destination) is undone by crediting
the debit back. Served over HTTP at /api/sagas/transfer (contracts.transfer.TRANSFER_PUBLIC).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.durable_functions import Blueprint, DurableOrchestrationContext

from activities.transfers import credit_account, credit_back, debit_account
from contracts.transfer import (
    APPROVAL_EVENT,
    APPROVAL_STEP,
    CREDIT_STEP,
    DEBIT_STEP,
    Credit,
    Debit,
    TransferInput,
    credit_input,
    debit_input,
    needs_approval,
    summary,
)
from orchestrators.policies import MAY_GIVE_UP, MUST_FINISH, STEP_TIMEOUT_SECONDS
from shared.saga import PIVOT, ApprovalGate, SagaDefinition, Step, run_saga

# Input builders: (the saga's input, the values of the steps so far) -> the step's input.


def _debit(transfer: TransferInput, results: Mapping[str, Any]) -> Debit:
    return debit_input(transfer)


def _credit(transfer: TransferInput, results: Mapping[str, Any]) -> Credit:
    return credit_input(transfer)


def _needs_approval(transfer: TransferInput, results: Mapping[str, Any]) -> bool:
    return needs_approval(transfer)


def _approval_timeout(transfer: TransferInput) -> float:
    return float(transfer.approval.timeout_seconds)


DEBIT = Step(
    DEBIT_STEP,
    debit_account,
    credit_back,
    input=_debit,
    retry=MAY_GIVE_UP,
    timeout_seconds=STEP_TIMEOUT_SECONDS,
    compensation_retry=MUST_FINISH,
)
APPROVAL = ApprovalGate(
    APPROVAL_STEP, required=_needs_approval, timeout=_approval_timeout, event_name=APPROVAL_EVENT
)
CREDIT = Step(CREDIT_STEP, credit_account, kind=PIVOT, input=_credit, retry=MUST_FINISH)

TRANSFER_SAGA = SagaDefinition("transfer", [DEBIT, APPROVAL, CREDIT], summary=summary)

bp = Blueprint()


@bp.orchestration_trigger(context_name="context")
def transfer_saga(context: DurableOrchestrationContext):
    """One transfer, start to finish: the whole saga is the definition above."""
    transfer = TransferInput.model_validate(context.get_input())
    return (yield from run_saga(context, TRANSFER_SAGA, transfer))
