"""The transfer saga's contract: the HTTP start body's limits, to_input, and the registration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

import contracts
import orchestrators
from contracts.transfer import (
    MAX_AMOUNT_CENTS,
    TRANSFER_PUBLIC,
    Credited,
    Debit,
    TransferInput,
    TransferRequest,
    TransferSummary,
    needs_approval,
    summary,
    to_input,
)
from orchestrators.transfer_saga import TRANSFER_SAGA, transfer_saga
from shared import services
from shared.saga import PIVOT, ApprovalGate, Step
from shared.settings import get_settings

GOOD = {"fromAccount": "alice", "toAccount": "bob", "amountCents": 2_500}


def parse(**changes: Any) -> TransferRequest:
    return TransferRequest.model_validate({**GOOD, **changes})


def errors(**changes: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as error:
        parse(**changes)
    return [(e["loc"], e["type"]) for e in error.value.errors()]


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set APPROVAL_* in the environment, read afresh by get_settings."""
    services.reset()
    yield monkeypatch
    monkeypatch.undo()
    services.reset()


class TestTheRequest:
    def test_a_good_request_parses_in_camel_case(self) -> None:
        request = parse(reference="Rent, March")
        assert (request.from_account, request.to_account) == ("alice", "bob")
        assert (request.amount_cents, request.reference) == (2_500, "Rent, March")
        assert parse().reference is None

    def test_the_same_account_on_both_sides_is_accepted(self) -> None:
        """The document cannot express "differs from", so the API does not refuse it either."""
        assert parse(toAccount="alice").to_account == "alice"

    def test_bad_accounts_are_reported_not_compared(self) -> None:
        assert errors(fromAccount="a/b", toAccount="a/b") == [
            (("fromAccount",), "string_pattern_mismatch"),
            (("toAccount",), "string_pattern_mismatch"),
        ]

    @pytest.mark.parametrize("amount", [True, False, "5", 2.5, None])
    def test_amounts_must_be_whole_json_numbers(self, amount: Any) -> None:
        [(location, _)] = errors(amountCents=amount)
        assert location == ("amountCents",)

    def test_a_whole_float_is_the_whole_number(self) -> None:
        """JSON has one number type: 2500.0 is 2500, as JSON Schema's integer says."""
        assert parse(amountCents=2500.0).amount_cents == 2_500

    @pytest.mark.parametrize("amount", [0, -1, MAX_AMOUNT_CENTS + 1])
    def test_amounts_out_of_range_are_refused(self, amount: int) -> None:
        assert errors(amountCents=amount)[0][0] == ("amountCents",)

    def test_the_largest_amount_is_exact_in_json(self) -> None:
        assert parse(amountCents=2**53 - 1).amount_cents == 2**53 - 1

    @pytest.mark.parametrize(
        "extra", [{"currency": "EUR"}, {"from_account": "alice"}, {"amount_cents": 1}]
    )
    def test_unknown_fields_and_snake_case_names_are_refused(self, extra: dict) -> None:
        [(location, kind)] = errors(**extra)
        assert (location, kind) == ((next(iter(extra)),), "extra_forbidden")

    @pytest.mark.parametrize("field", ["fromAccount", "toAccount", "amountCents"])
    def test_every_field_but_reference_is_required(self, field: str) -> None:
        body = {name: value for name, value in GOOD.items() if name != field}
        with pytest.raises(ValidationError) as error:
            TransferRequest.model_validate(body)
        assert [(e["loc"], e["type"]) for e in error.value.errors()] == [((field,), "missing")]

    @pytest.mark.parametrize("account", ["", "a" * 65, "a b", "a#b", "a?b", "a\\b", "é", 7])
    def test_account_ids_must_be_table_keys(self, account: Any) -> None:
        assert errors(fromAccount=account)[0][0] == ("fromAccount",)

    def test_a_64_character_account_id_is_fine(self) -> None:
        assert parse(toAccount="b" * 64).to_account == "b" * 64

    @pytest.mark.parametrize("reference", ["", "x" * 101, "two\nlines", "tab\there", 5])
    def test_references_are_single_lines_of_at_most_100(self, reference: Any) -> None:
        assert errors(reference=reference)[0][0] == ("reference",)
        assert parse(reference="x" * 100).reference == "x" * 100

    def test_a_request_is_frozen(self) -> None:
        with pytest.raises(ValidationError):
            parse().amount_cents = 1  # type: ignore[misc]

    def test_the_schema_shows_the_limits_in_camel_case(self) -> None:
        schema = TransferRequest.model_json_schema()
        assert schema["required"] == ["fromAccount", "toAccount", "amountCents"]
        assert schema["additionalProperties"] is False
        amount = schema["properties"]["amountCents"]
        assert (amount["type"], amount["minimum"], amount["maximum"]) == (
            "integer",
            1,
            2**53 - 1,
        )
        assert schema["properties"]["fromAccount"]["maxLength"] == 64


class TestToInput:
    def test_it_carries_the_request_the_id_the_hash_and_the_settings_now(
        self, settings: pytest.MonkeyPatch
    ) -> None:
        settings.setenv("APPROVAL_THRESHOLD_CENTS", "5000")
        settings.setenv("APPROVAL_TIMEOUT_SECONDS", "60")
        saga_input = to_input(parse(reference="rent"), "transfer-1", "h1")
        assert saga_input.to_wire() == {
            "transferId": "transfer-1",
            "fromAccount": "alice",
            "toAccount": "bob",
            "amountCents": 2_500,
            "reference": "rent",
            "approval": {"thresholdCents": 5_000, "timeoutSeconds": 60},
            "requestHash": "h1",
        }
        # What the orchestrator reads back from the durable history is the same input.
        assert TransferInput.model_validate(saga_input.to_wire()) == saga_input

    def test_the_settings_are_read_when_the_saga_starts(self, settings: pytest.MonkeyPatch) -> None:
        settings.setenv("APPROVAL_THRESHOLD_CENTS", "2500")
        first = to_input(parse(), "transfer-1", "h")
        settings.setenv("APPROVAL_THRESHOLD_CENTS", "2501")
        services.reset()
        second = to_input(parse(), "transfer-2", "h")
        assert (needs_approval(first), needs_approval(second)) == (True, False)
        assert first.approval.threshold_cents == 2_500  # travels in the input, unchanged

    def test_the_saga_input_refuses_unknown_fields(self) -> None:
        wire = to_input(parse(), "transfer-1", "h").to_wire()
        with pytest.raises(ValidationError, match="extra_forbidden"):
            TransferInput.model_validate({**wire, "currency": "EUR"})


class TestTheSaga:
    def test_debit_then_approval_then_the_pivot_credit(self) -> None:
        debit, approval, credit = TRANSFER_SAGA.steps
        assert isinstance(debit, Step) and isinstance(credit, Step)
        assert isinstance(approval, ApprovalGate)
        assert (debit.name, approval.name, credit.name) == ("debit", "approval", "credit")
        assert debit.compensation is not None
        assert (credit.kind, credit.compensation) == (PIVOT, None)
        assert approval.event_name == TRANSFER_PUBLIC.approval_event

    def test_the_step_inputs_and_the_summary(self) -> None:
        saga_input = to_input(parse(), "transfer-1", "h")
        debit, approval, credit = TRANSFER_SAGA.steps
        assert isinstance(debit, Step) and isinstance(credit, Step)
        assert isinstance(approval, ApprovalGate)
        assert debit.input(saga_input, {}) == Debit(
            transfer_id="transfer-1", account_id="alice", amount_cents=2_500
        )
        assert credit.input(saga_input, {}).account_id == "bob"
        assert approval.timeout_for(saga_input) == float(get_settings().approval_timeout_seconds)
        results = {"debit": {"debitedCents": 2_500}}
        assert summary(saga_input, results) == {
            "amountCents": 2_500,
            "debited": True,
            "credited": False,
        }
        TransferSummary.model_validate(summary(saga_input, results))
        assert Credited(credited_cents=0).to_wire() == {"creditedCents": 0}

    def test_the_threshold_itself_needs_approval(self) -> None:
        saga_input = to_input(parse(), "transfer-1", "h")
        at = saga_input.model_copy(
            update={"approval": saga_input.approval.model_copy(update={"threshold_cents": 2_500})}
        )
        above = saga_input.model_copy(
            update={"approval": saga_input.approval.model_copy(update={"threshold_cents": 2_501})}
        )
        assert (needs_approval(at), needs_approval(above)) == (True, False)


class TestRegistration:
    def test_the_public_registration(self) -> None:
        assert TRANSFER_PUBLIC.name == "transfer"
        assert TRANSFER_PUBLIC.request is TransferRequest
        assert TRANSFER_PUBLIC.summary is TransferSummary
        assert TRANSFER_PUBLIC.approval_event == "Approval"
        assert TRANSFER_PUBLIC.owner(parse()) == "alice"
        assert TRANSFER_PUBLIC.to_input(parse(), "transfer-1", "h").transfer_id == "transfer-1"
        assert TRANSFER_PUBLIC.description

    def test_the_orchestrator_it_names_is_the_one_the_app_registers(self) -> None:
        assert transfer_saga._function.get_function_name() == TRANSFER_PUBLIC.orchestrator
        assert transfer_saga._function.get_trigger().get_binding_name() == "orchestrationTrigger"

    def test_it_is_listed_for_the_http_surface_and_the_load_time_check(self) -> None:
        assert TRANSFER_PUBLIC in contracts.public_sagas
        assert TRANSFER_SAGA in orchestrators.sagas
