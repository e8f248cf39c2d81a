"""How an order saga's orchestration status becomes the API's order, and how handler failures
become problem documents. Pure: statuses are built the way the durable client builds them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func
import pytest
from azure.core.exceptions import ServiceRequestError
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from api.order_view import order_view
from api.problems import ProblemError, ProblemType, guarded
from api.saga_state import read_saga
from shared.errors import ContentionExhausted

ORDER_ID = "o-" + "a" * 32
INPUT = {
    "orderId": ORDER_ID,
    "customerId": "alice",
    "items": [{"sku": "apple", "quantity": 2}, {"sku": "pear", "quantity": 1}],
    "shippingAddress": {"country": "NL"},
    "approval": {"thresholdCents": 100000, "timeoutSeconds": 86400},
    "requestHash": "abc",
}


def record(status: str, **extra: Any) -> dict[str, Any]:
    steps = [
        {"name": "create_order", "status": "Succeeded", "attempts": 1, "lastError": None},
        {"name": "reserve-0", "status": "Succeeded", "attempts": 1, "lastError": None},
        {"name": "reserve-1", "status": "Running", "attempts": 2, "lastError": {"code": "X"}},
    ]
    return {"saga": "order", "status": status, "steps": steps, "failure": None} | extra


def status(
    runtime: str = "Running",
    custom: Any = None,
    output: Any = None,
    name: str = "order_saga",
    saga_input: Any = INPUT,
) -> DurableOrchestrationStatus:
    return DurableOrchestrationStatus.from_json(
        {
            "name": name,
            "instanceId": ORDER_ID,
            "runtimeStatus": runtime,
            "input": saga_input,
            "customStatus": custom,
            "output": output,
            "createdTime": "2030-01-01T00:00:00Z",
            "lastUpdatedTime": "2030-01-01T00:00:05Z",
        }
    )


def view(**kwargs: Any) -> dict[str, Any]:
    found = order_view(status(**kwargs))
    assert found is not None
    return found.to_json()


class TestOrderView:
    def test_before_the_first_record_the_order_is_running(self) -> None:
        order = view(runtime="Pending")
        assert order == {
            "orderId": ORDER_ID,
            "status": "Running",
            "customerId": "alice",
            "items": [{"sku": "apple", "quantity": 2}, {"sku": "pear", "quantity": 1}],
            "totalCents": None,
            "steps": [],
            "failure": None,
            "attention": None,
            "createdAt": "2030-01-01T00:00:00Z",
            "updatedAt": "2030-01-01T00:00:05Z",
        }

    def test_a_running_order_shows_its_saga_record_without_internals(self) -> None:
        order = view(custom=record("AwaitingApproval"))
        assert order["status"] == "AwaitingApproval"
        assert order["steps"][2] == {"name": "reserve-1", "status": "Running", "attempts": 2}
        assert order["totalCents"] is None

    def test_a_running_order_shows_the_total_its_saga_summarised(self) -> None:
        order = view(custom=record("AwaitingApproval", summary={"totalCents": 500}))
        assert order["totalCents"] == 500
        assert view(custom=record("Running", summary={"totalCents": None}))["totalCents"] is None

    def test_a_finished_order_reads_its_output_and_total(self) -> None:
        results = {
            "reserve-0": {"sku": "apple", "quantity": 2, "unitPriceCents": 150, "amountCents": 300},
            "reserve-1": {"sku": "pear", "quantity": 1, "unitPriceCents": 200, "amountCents": 200},
        }
        output = record("Completed") | {"results": results}
        order = view(runtime="Completed", custom=record("Running"), output=output)
        assert (order["status"], order["totalCents"]) == ("Completed", 500)

    def test_the_total_is_unknown_when_a_line_was_never_priced(self) -> None:
        failure = {"step": "reserve-1", "code": "OutOfStock", "message": "1 of SKU 'pear' wanted"}
        output = record("Compensated", failure=failure) | {
            "results": {
                "reserve-0": {
                    "sku": "apple",
                    "quantity": 2,
                    "unitPriceCents": 150,
                    "amountCents": 300,
                }
            }
        }
        order = view(runtime="Completed", output=output)
        assert order["status"] == "Compensated"
        assert order["totalCents"] is None
        assert order["failure"] == failure

    def test_values_the_client_left_json_encoded_are_decoded(self) -> None:
        order = view(saga_input=json.dumps(INPUT), custom=json.dumps(record("Compensating")))
        assert (order["customerId"], order["status"]) == ("alice", "Compensating")

    @pytest.mark.parametrize("runtime", ["Failed", "Terminated", "Canceled"])
    def test_an_orchestration_that_failed_or_was_terminated_is_failed(self, runtime: str) -> None:
        order = view(runtime=runtime, custom=record("Running"))
        assert order["status"] == "Failed"
        assert order["failure"]["code"] == f"Orchestration{runtime}"

    def test_technical_fault_texts_are_not_shown(self) -> None:
        fault = {
            "step": "reserve-0",
            "code": "ActivityFault",
            "message": "Activity function 'release_inventory' failed: ValueError: table sagaX",
        }
        order = view(custom=record("NeedsAttention", attention=fault))
        assert order["attention"]["code"] == "ActivityFault"
        assert "sagaX" not in order["attention"]["message"]

    @pytest.mark.parametrize(
        ("code", "message"),
        [
            ("InvalidStepInput", "charge_payment input: amountCents must be a whole number"),
            ("IdempotencyKeyReused", "idempotency key 'o-1:charge_payment' was already used"),
            ("PermanentFault", "transaction for idempotency key 'o-1:x' exceeds 100 operations"),
            ("OrchestratorError", "KeyError: 'amountCents'"),
        ],
    )
    def test_errors_no_retry_can_fix_show_a_fixed_text(self, code: str, message: str) -> None:
        """Their messages name fields, keys and exceptions inside the app: the caller sees the
        code and a fixed text; a malformed request is the app's error, not the customer's."""
        failure = {"step": "charge_payment", "code": code, "message": message}
        shown = view(runtime="Completed", output=record("Compensated", failure=failure))
        assert shown["failure"]["code"] == code
        assert shown["failure"]["message"] != message
        assert "'" not in shown["failure"]["message"]
        if code in ("InvalidStepInput", "IdempotencyKeyReused"):
            assert "not at fault" in shown["failure"]["message"]

    @pytest.mark.parametrize(
        "kwargs",
        [{"name": "other_orchestrator"}, {"saga_input": None}, {"saga_input": "not json"}],
    )
    def test_anything_but_an_order_saga_is_no_order(self, kwargs: dict[str, Any]) -> None:
        assert order_view(status(**kwargs)) is None

    def test_an_unknown_instance_is_no_order(self) -> None:
        assert order_view(DurableOrchestrationStatus.from_json("")) is None


def body(response: func.HttpResponse) -> dict[str, Any]:
    assert response.mimetype == "application/problem+json"
    parsed: dict[str, Any] = json.loads(response.get_body())
    return parsed


class TestGuard:
    def test_a_problem_is_answered_as_it_is(self) -> None:
        @guarded
        def handler() -> func.HttpResponse:
            raise ProblemError(ProblemType.NOT_FOUND, "No order has this id.")

        response = handler()
        assert response.status_code == 404
        assert body(response) == {
            "type": "urn:durable-saga:problem:not-found",
            "title": "Not found",
            "status": 404,
            "detail": "No order has this id.",
        }

    def test_an_unexpected_error_is_a_generic_500(self) -> None:
        @guarded
        def handler() -> func.HttpResponse:
            raise KeyError("secret-table-name")

        response = handler()
        assert response.status_code == 500
        assert "secret" not in response.get_body().decode()
        assert body(response)["type"].endswith(":internal-error")

    @pytest.mark.parametrize(
        "error", [ServiceRequestError("host down"), ContentionExhausted("k", "p", 5)]
    )
    def test_unreachable_or_retryable_storage_is_503(self, error: Exception) -> None:
        @guarded
        async def handler() -> func.HttpResponse:
            raise error

        response = asyncio.run(handler())
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert body(response)["detail"] == "A backing service is unavailable; retry later."


@pytest.mark.parametrize("code", ["InvalidStepInput", "IdempotencyKeyReused"])
def test_the_fixed_texts_fit_every_saga(code: str) -> None:
    """saga_state serves every registered saga: a transfer's texts must not speak of an order."""
    failure = {"step": "debit", "code": code, "message": "debit input: amountCents is missing"}
    transfer = {"saga": "transfer", "status": "Compensated", "steps": [], "failure": failure}
    saga_input = {"transferId": "transfer-" + "b" * 32, "requestHash": "abc"}
    found = status("Completed", output=transfer, name="transfer_saga", saga_input=saga_input)
    shown = read_saga(found).failure
    assert shown is not None
    assert "not at fault" in shown.message
    assert "order" not in shown.message
