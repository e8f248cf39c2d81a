"""The saga's progress record (the orchestration's custom status) stays inside the host's limit,
16 KB of UTF-16 as compact JSON, for every order the API accepts, and the API still shows every
step of it. Built through the engine's own Progress API on a stand-in context; nothing here
lists the order saga's steps, so a step added to it is checked without editing this file."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from api.models import MAX_COMMENT_CHARS, MAX_ORDER_LINES, MAX_QUANTITY, OrderRequest
from api.order_view import order_view
from contracts.order import RESERVE_STEP, OrderSagaInput, order_saga_input
from orchestrators.order_saga import ORDER_SAGA
from shared.saga import (
    ApprovalGate,
    EngineCode,
    FanOut,
    ParallelGroup,
    SagaDefinition,
    SagaDefinitionError,
    Step,
    StepError,
    StepKind,
    StepStatus,
)
from shared.saga.calls import Call, Settled, Settlement
from shared.saga.record_text import ELLIPSIS, clipped, json_units, text_units
from shared.saga.status import (
    HOST_LIMIT_UNITS,
    NOTICE_MESSAGE_UNITS,
    STEP_MESSAGE_UNITS,
    Progress,
    worst_case,
)
from shared.saga.step_entries import step_list
from shared.settings import Settings

HOST_LIMIT_BYTES = 2 * HOST_LIMIT_UNITS
ORDER_ID = "o-" + "f" * 32
PRICE_CENTS = 1_000_000_000
# Each costs more than one UTF-16 unit in JSON, or is no valid UTF-16 alone (the last).
NASTY = 'ü😀"\\\n\x01\u2028€𝄞\ud800'
# The longest approval comment the API takes, every character a surrogate pair.
COMMENT = "😀" * MAX_COMMENT_CHARS


def utf16_bytes(record: Any) -> int:
    """What the host measures: compact JSON, non-ASCII unescaped, in UTF-16."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-16-le"))


class Context:
    """What Progress uses of the orchestration context."""

    instance_id = ORDER_ID
    is_replaying = False

    def __init__(self) -> None:
        self.custom_status: Any = None

    def set_custom_status(self, value: Any) -> None:
        self.custom_status = value


def biggest_order() -> OrderSagaInput:
    """The saga input of the largest order `POST /api/orders` accepts."""
    body = {
        "customerId": "c" * 64,
        "items": [
            {"sku": f"{line:03d}" + "s" * 61, "quantity": MAX_QUANTITY}
            for line in range(MAX_ORDER_LINES)
        ],
        "shippingAddress": {"country": "NL", "name": "n" * 100, "line1": "l" * 200},
    }
    order = OrderRequest.model_validate(body)
    return order_saga_input(
        ORDER_ID,
        order.customer_id,
        [line.model_dump() for line in order.items],
        order.shipping_address.model_dump(mode="json", by_alias=True, exclude_none=True),
        Settings.from_env({}).approval_threshold_cents,
        Settings.from_env({}).approval_timeout_seconds,
    )


def fault(name: str) -> StepError:
    """The longest text a faulting activity can leave (the SDK's wording, any exception text)."""
    text = f"Activity function '{name}' failed: RuntimeError: " + NASTY * 2_000
    return StepError(EngineCode.ACTIVITY_FAULT, text)


def business(name: str) -> StepError:
    """A business failure with a code longer than any activity's."""
    return StepError("Refused" * 20, f"{name} refused: " + NASTY * 2_000)


def worst_order_record() -> tuple[dict[str, Any], dict[str, tuple[str, int]]]:
    """The biggest order with every step retried to its maximum, each attempt failing with the
    longest texts; compensations failing too; the approver's longest comment as the failure;
    NeedsAttention; the summary set. Returns the record and each step's (status, attempts)."""
    saga_input = biggest_order()
    context = Context()
    progress = Progress(context, ORDER_SAGA.for_input(saga_input))
    shown: dict[str, tuple[str, int]] = {}
    rejection = StepError(EngineCode.APPROVAL_REJECTED, COMMENT)
    for step in ORDER_SAGA.members(saga_input):
        if isinstance(step, ApprovalGate):
            progress.mark(step.name, StepStatus.FAILED, rejection)
            shown[step.name] = ("Failed", 0)
            continue
        call = Call(step.name, step.action, {}, step.retry)
        # Past the pivot the operator retries: say ten rounds of every attempt allowed.
        rounds = 1 if step.kind is StepKind.COMPENSATABLE else 10
        for _ in range(rounds * step.retry.max_attempts):
            progress.attempt_started(call)
            progress.attempt_failed(call, fault(step.name))
        if step.compensation is None:
            progress.attempt_failed(call, business(step.name))
            shown[step.name] = ("Running", rounds * step.retry.max_attempts)
            continue
        progress.settled(Settled(call, Settlement.FAULTED, error=fault(step.name)))
        undo = Call(step.name, step.compensation, {}, step.retry, compensating=True)
        progress.attempt_started(undo)
        progress.attempt_failed(undo, fault(f"undo {step.name}"))
        shown[step.name] = ("Compensating", step.retry.max_attempts)
    progress.fail("approval", rejection)
    progress.needs_attention(f"reserve-{MAX_ORDER_LINES - 1}", fault("release_inventory"))
    reserved = {
        f"reserve-{i}": {
            "sku": line.sku,
            "quantity": MAX_QUANTITY,
            "unitPriceCents": PRICE_CENTS,
            "amountCents": PRICE_CENTS * MAX_QUANTITY,
        }
        for i, line in enumerate(saga_input.items)
    }
    progress.summarize(saga_input, reserved)
    assert context.custom_status is progress.record
    return progress.record, shown


def order_status(runtime: str, custom: Any, output: Any = None) -> DurableOrchestrationStatus:
    return DurableOrchestrationStatus.from_json(
        {
            "name": "order_saga",
            "instanceId": ORDER_ID,
            "runtimeStatus": runtime,
            "input": biggest_order().to_wire(),
            "customStatus": custom,
            "output": output,
            "createdTime": "2030-01-01T00:00:00Z",
            "lastUpdatedTime": "2030-01-01T00:00:05Z",
        }
    )


def bound_bytes() -> int:
    """The engine's bound for the biggest order: every field at its cap, whatever the texts."""
    return 2 * json_units(worst_case(ORDER_SAGA.for_input(biggest_order())))


class TestOrderRecordSize:
    def test_the_worst_order_record_stays_within_the_engines_bound(self) -> None:
        """100 lines, every attempt failed with long non-ASCII texts, NeedsAttention: no bigger
        than the bound the engine checks a saga against before its first step."""
        record, _ = worst_order_record()
        assert record["status"] == "NeedsAttention"
        assert record["attention"] is not None and record["failure"] is not None
        assert record["summary"] == {"totalCents": MAX_ORDER_LINES * PRICE_CENTS * MAX_QUANTITY}
        assert utf16_bytes(record) <= bound_bytes()
        assert 2 * json_units(record) <= bound_bytes()  # as Newtonsoft escapes, too

    def test_the_biggest_order_the_api_accepts_fits_the_host_limit(self) -> None:
        """Else the engine would refuse, before any step, an order the API took. A step added to
        the order saga costs about 600 bytes of bound; the README reports the figure."""
        assert bound_bytes() <= HOST_LIMIT_BYTES
        Progress(Context(), ORDER_SAGA.for_input(biggest_order()))  # checks it, too

    def test_texts_are_clipped_but_the_approvers_comment_is_whole(self) -> None:
        record, _ = worst_order_record()
        assert record["failure"]["message"] == COMMENT
        first = record["steps"][0]
        assert first["lastError"]["message"].endswith(ELLIPSIS)
        assert text_units(first["lastError"]["message"]) <= STEP_MESSAGE_UNITS
        attention = record["attention"]["message"]
        assert attention.startswith("Activity function 'release_inventory' failed: RuntimeError: ")
        assert text_units(attention) <= NOTICE_MESSAGE_UNITS
        assert "\ud800" not in json.dumps(record, ensure_ascii=False)


class TestReadingTheRecord:
    def test_a_fan_out_is_one_entry_with_an_array_per_field(self) -> None:
        record, shown = worst_order_record()
        names = [entry["name"] for entry in record["steps"]]
        assert names == [entry.name for entry in ORDER_SAGA.steps]
        assert sum(isinstance(entry, FanOut) for entry in ORDER_SAGA.steps) == 1
        reserve = record["steps"][names.index(RESERVE_STEP)]
        assert reserve["members"] == MAX_ORDER_LINES
        assert reserve["status"] == ["Compensating"] * MAX_ORDER_LINES
        assert reserve["attempts"] == [shown["reserve-0"][1]] * MAX_ORDER_LINES
        assert reserve["lastError"]["member"] == f"reserve-{MAX_ORDER_LINES - 1}"

    @pytest.mark.parametrize("runtime", ["Running", "Completed"])
    def test_the_api_shows_every_step_of_a_compacted_record(self, runtime: str) -> None:
        """Running: from the custom status; finished: from the output that repeats it."""
        record, shown = worst_order_record()
        output = {**record, "results": {}} if runtime == "Completed" else None
        order = order_view(order_status(runtime, record, output))
        assert order is not None
        expected = [
            {"name": name, "status": status, "attempts": attempts}
            for name, (status, attempts) in shown.items()
        ]
        assert len(expected) == len(ORDER_SAGA.members(biggest_order()))
        assert order.to_json()["steps"] == expected
        assert step_list(record["steps"]) == expected
        assert order.to_json()["failure"] == {
            "step": "approval",
            "code": "ApprovalRejected",
            "message": COMMENT,
        }

    def test_a_record_that_lists_members_one_by_one_reads_as_before(self) -> None:
        """Sagas started before fan-outs were grouped keep their records."""
        steps = [
            {"name": "reserve-0", "status": "Succeeded", "attempts": 1, "lastError": None},
            {"name": "reserve-1", "status": "Failed", "attempts": 3, "lastError": {"code": "X"}},
        ]
        assert step_list(steps) == [
            {"name": "reserve-0", "status": "Succeeded", "attempts": 1},
            {"name": "reserve-1", "status": "Failed", "attempts": 3},
        ]

    def test_what_a_record_lacks_reads_as_missing(self) -> None:
        short = {"name": "reserve", "members": 2, "status": ["Failed"], "attempts": "3"}
        assert step_list([short, "junk"]) == [
            {"name": "reserve-0", "status": "Failed", "attempts": None},
            {"name": "reserve-1", "status": None, "attempts": None},
        ]
        assert step_list(None) == []


class TestAnySaga:
    def test_a_fan_out_too_big_for_the_host_is_refused_before_any_step(self) -> None:
        big = SagaDefinition("big", [FanOut(Step("part", "act", "undo"), items=range)])
        context = Context()
        with pytest.raises(SagaDefinitionError, match="custom status limit"):
            Progress(context, big.for_input(2_000))
        assert context.custom_status is None
        assert json_units(worst_case(big.for_input(300))) <= HOST_LIMIT_UNITS

    def test_a_fan_out_member_moves_through_its_states_in_its_place(self) -> None:
        """Attempts, settlements, compensation and skipping reach index i of the arrays."""
        saga = SagaDefinition("fan", [FanOut(Step("part", "act", "undo"), items=range)])
        context = Context()
        progress = Progress(context, saga.for_input(3))
        call = Call("part-1", "act", {}, saga.steps[0].step.retry)
        progress.attempt_started(call)
        progress.attempt_failed(call, StepError("Oops", "first try"))
        progress.attempt_started(call)
        progress.settled(Settled(call, Settlement.SUCCEEDED))
        progress.skip_unreached()
        entry = context.custom_status["steps"][0]
        assert (entry["status"], entry["attempts"]) == (
            ["Skipped", "Succeeded", "Skipped"],
            [0, 2, 0],
        )
        assert entry["lastError"] == {"member": "part-1", "code": "Oops", "message": "first try"}
        assert progress.attempts("part-1") == 2
        undo = Call("part-1", "undo", {}, call.retry, compensating=True)
        progress.attempt_started(undo)
        assert entry["status"][1] == "Compensating"
        progress.settled(Settled(undo, Settlement.SUCCEEDED))
        assert (entry["status"][1], entry["attempts"][1]) == ("Compensated", 2)

    def test_explicit_parallel_members_keep_an_entry_each(self) -> None:
        pair = ParallelGroup("pair", [Step("left", "a", "u"), Step("right", "a", "u")])
        context = Context()
        Progress(context, SagaDefinition("two", [pair]))
        assert [entry["name"] for entry in context.custom_status["steps"]] == ["left", "right"]

    def test_a_summary_too_big_for_the_record_is_left_out(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        chatty = SagaDefinition(
            "chatty", [Step("one", "a", "u")], summary=lambda saga_input, results: "s" * 1000
        )
        context = Context()
        with caplog.at_level(logging.WARNING, "shared.saga"):
            Progress(context, chatty).summarize({}, {})
        assert context.custom_status["summary"] is None
        assert "summary over" in caplog.text


class TestClipping:
    @pytest.mark.parametrize("limit", [1, 2, 3, 7, 40, 41])
    def test_a_clipped_text_fits_and_never_splits_a_surrogate_pair(self, limit: int) -> None:
        text = "a😀" * 30 + NASTY
        kept = clipped(text, limit)
        assert text_units(kept) <= limit
        assert kept.endswith(ELLIPSIS)
        kept.encode("utf-16-le")  # valid text: no lone surrogate
        assert text.startswith(kept[: -len(ELLIPSIS)])

    def test_a_text_that_fits_is_kept_whole(self) -> None:
        text = "ü😀" * 10
        assert clipped(text, text_units(text)) == text
        assert clipped("tab\there", 9) == "tab\there"

    def test_a_lone_surrogate_becomes_a_replacement_character(self) -> None:
        assert clipped("a\udc80b", 10) == "a\ufffdb"

    def test_units_count_what_json_escapes(self) -> None:
        assert text_units("a\n\x01\u2028😀") == 1 + 2 + 6 + 6 + 2
        assert json_units({"k": "ü"}) == len('{"k":"ü"}')

    def test_ascii_json_counts_its_escapes_once(self) -> None:
        """Plain ASCII JSON is counted by its length: its escapes are spelled out in it."""
        value = {"k": 'say "hi"\n\x01\t', "n": [1, None, True]}
        expected = len('{"k":"say \\"hi\\"\\n\\u0001\\t","n":[1,null,true]}')
        assert json_units(value) == expected
        assert json_units({"k": "\u2028"}) == len('{"k":"\\u2028"}')  # Newtonsoft escapes it
