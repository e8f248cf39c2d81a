"""The transfer saga's contract: its HTTP start body, its input, each step's input and result,
its summary, and its registration with the generic HTTP surface (``TRANSFER_PUBLIC``).

A transfer debits one account and credits another: two local transactions in two partitions of
the Accounts table, which no single batch can span, hence a saga. Its statuses are the engine's
``SagaStatus``; its approval decision is the order saga's ``ApprovalDecision`` shape
(``{"approved": bool, "comment"?: str}``), sent as the ``Approval`` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.alias_generators import to_camel

from contracts.order import ApprovalPolicy
from shared.saga.contract import Cents, Contract, PositiveNumber, Text
from shared.saga.public import PublicSaga
from shared.settings import get_settings

APPROVAL_EVENT = "Approval"  # data: contracts.order.ApprovalDecision
# The steps, by name: their results are found under these names in the saga's results.
DEBIT_STEP = "debit"
APPROVAL_STEP = "approval"
CREDIT_STEP = "credit"

MAX_AMOUNT_CENTS = 2**53 - 1  # every amount and balance stays exact in any JSON client
MAX_REFERENCE_CHARS = 100
# Account ids are Table storage partition keys, which must not hold / \ # ? or controls.
ACCOUNT_PATTERN = r"^[A-Za-z0-9._-]+$"
SINGLE_LINE_PATTERN = r"^[^\x00-\x1F\x7F]+$"

AccountId = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=ACCOUNT_PATTERN)
]
Reference = Annotated[
    str,
    StringConstraints(
        strict=True, min_length=1, max_length=MAX_REFERENCE_CHARS, pattern=SINGLE_LINE_PATTERN
    ),
]


def _whole_float_as_int(value: object) -> object:
    # JSON has one number type: 2.0 is the whole number 2 (as JSON Schema's `integer` says).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# ------------------------------------------------------------------------ the HTTP body


class TransferRequest(BaseModel):
    """Body of ``POST /api/sagas/transfer``: strict (``"5"`` is not an amount, ``true`` is not
    a number), camelCase, unknown fields refused. The two accounts may be the same one (it is
    debited and credited, and ends as it was): JSON Schema cannot say "differs from", and the
    document must accept what the API accepts."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", alias_generator=to_camel)

    from_account: AccountId
    to_account: AccountId
    # After the bounds, so they stay plain `minimum`/`maximum` in the JSON schema.
    amount_cents: Annotated[
        int, Field(ge=1, le=MAX_AMOUNT_CENTS), BeforeValidator(_whole_float_as_int)
    ]
    reference: Reference | None = None


# ---------------------------------------------------------------------- the saga's input


class TransferInput(Contract):
    """The saga's input; ``approval`` holds the settings in force when it started, so a
    setting changed mid-saga never changes what a replay does."""

    transfer_id: Text
    from_account: AccountId
    to_account: AccountId
    amount_cents: PositiveNumber
    reference: Reference | None = None
    approval: ApprovalPolicy
    # Set by the HTTP starter: a repeat with the same Idempotency-Key must carry the same body.
    request_hash: str | None = None


# ---------------------------------------------------------------------------- the steps


class Debit(Contract):
    """Input of `debit_account` and of its compensation `credit_back`."""

    transfer_id: Text
    account_id: AccountId
    amount_cents: PositiveNumber


class Debited(Contract):
    debited_cents: Cents


class Credit(Contract):
    """Input of `credit_account`, the pivot."""

    transfer_id: Text
    account_id: AccountId
    amount_cents: PositiveNumber


class Credited(Contract):
    """The result of `credit_account`, and of `credit_back` (0: there was nothing to undo)."""

    credited_cents: Cents


class TransferSummary(Contract):
    """The progress record's ``summary``: the amount, and which sides went through so far
    (``debited`` stays true once the debit succeeded, even after it was credited back: the
    record's status says whether the saga was compensated)."""

    amount_cents: Cents
    debited: bool
    credited: bool


# ------------------------------------------------------------------- built from the input


def debit_input(transfer: TransferInput) -> Debit:
    return Debit(
        transfer_id=transfer.transfer_id,
        account_id=transfer.from_account,
        amount_cents=transfer.amount_cents,
    )


def credit_input(transfer: TransferInput) -> Credit:
    return Credit(
        transfer_id=transfer.transfer_id,
        account_id=transfer.to_account,
        amount_cents=transfer.amount_cents,
    )


def needs_approval(transfer: TransferInput) -> bool:
    return transfer.amount_cents >= transfer.approval.threshold_cents


def summary(transfer: TransferInput, results: Mapping[str, Any]) -> dict[str, Any]:
    """What the record shows: the amount (for the approver), and which steps went through."""
    return TransferSummary(
        amount_cents=transfer.amount_cents,
        debited=DEBIT_STEP in results,
        credited=CREDIT_STEP in results,
    ).to_wire()


def to_input(request: TransferRequest, saga_id: str, request_hash: str | None) -> TransferInput:
    """The saga's input for a start request, with the approval settings in force now."""
    settings = get_settings()
    return TransferInput(
        transfer_id=saga_id,
        from_account=request.from_account,
        to_account=request.to_account,
        amount_cents=request.amount_cents,
        reference=request.reference,
        approval=ApprovalPolicy(
            threshold_cents=settings.approval_threshold_cents,
            timeout_seconds=settings.approval_timeout_seconds,
        ),
        request_hash=request_hash,
    )


def _owner(request: TransferRequest) -> str:
    return request.from_account


TRANSFER_PUBLIC = PublicSaga(
    name="transfer",
    orchestrator="transfer_saga",
    request=TransferRequest,
    to_input=to_input,
    owner=_owner,
    approval_event=APPROVAL_EVENT,
    summary=TransferSummary,
    description="Move money from one account to another.",
)
