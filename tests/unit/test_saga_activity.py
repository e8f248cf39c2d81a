"""saga_activity: errors no retry can fix become the step's failure, everything else is raised."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.functions.decorators.function_app import FunctionBuilder

from activities import blueprints
from contracts.order import ReserveLine
from shared import services
from shared.chaos import ChaosFault, chaotic
from shared.errors import (
    ContentionExhausted,
    IdempotencyConflict,
    InvalidStepInput,
    PermanentError,
    SettingsError,
    TransactionTooLarge,
    TransientStorageError,
)
from shared.saga.activity import MAX_MESSAGE_CHARS, saga_activity
from shared.saga.call import StepCall
from shared.saga.outcome import failure, parse_envelope

CALL = {"key": "i1:reserve", "input": {"orderId": "o", "sku": "apple", "quantity": 1}}


class Raising:
    """A stand-in activity that raises `error` (or replies ok) and counts its calls."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls = 0
        self.__name__ = "reserve_inventory"

    def __call__(self, call: dict) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return {"ok": True, "value": call["key"]}


@pytest.fixture(autouse=True)
def chaos_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CHAOS_FAULT_RATE", raising=False)
    monkeypatch.delenv("CHAOS_SEED", raising=False)
    services.reset()
    yield
    services.reset()


def set_chaos(monkeypatch: pytest.MonkeyPatch, rate: float, seed: int) -> None:
    monkeypatch.setenv("CHAOS_FAULT_RATE", str(rate))
    monkeypatch.setenv("CHAOS_SEED", str(seed))
    services.reset()


PERMANENT = {
    "malformed input": (
        InvalidStepInput("reserve_inventory input: missing field(s) ['sku']"),
        "InvalidStepInput",
    ),
    "key reused": (IdempotencyConflict("i1:reserve"), "IdempotencyKeyReused"),
    "declared permanent": (PermanentError("the courier closed this route"), "PermanentFault"),
    "too large": (TransactionTooLarge("i1:reserve", "100 operations"), "PermanentFault"),
    "misconfigured": (SettingsError("SHIPPING_COUNTRIES", "bad list"), "PermanentFault"),
}

TRANSIENT: dict[str, Callable[[], Exception]] = {
    "plain exception": lambda: RuntimeError("connection reset"),
    # A plain ValueError is not malformed input: e.g. a compensation finding an invariant broken
    # in storage, for an operator after the retries.
    "plain ValueError": lambda: ValueError("customer 'c' has a charge to refund but no account"),
    "transient storage": lambda: TransientStorageError("i1:reserve", "503 from storage"),
    "contention": lambda: ContentionExhausted("i1:reserve", "apple", 8),
    "chaos": lambda: ChaosFault("reserve_inventory", "i1:reserve", "before"),
}


class TestPermanentErrors:
    @pytest.mark.parametrize(("error", "code"), PERMANENT.values(), ids=PERMANENT.keys())
    def test_each_becomes_a_failure_with_its_code_after_one_attempt(
        self, error: Exception, code: str
    ) -> None:
        """Returned, not raised, so the engine never retries it; the message is the error's."""
        activity = Raising(error)
        answer = saga_activity(activity)(CALL)
        assert answer == failure(code, str(error))
        assert activity.calls == 1
        envelope = parse_envelope(answer)
        assert envelope.error is not None and envelope.error.code == code

    def test_a_malformed_call_parsed_by_the_models_names_the_field(self) -> None:
        """StepCall.parse raises InvalidStepInput, which is still a ValueError for callers."""

        def reserve_inventory(call: dict) -> dict[str, Any]:
            StepCall.parse(call, ReserveLine)
            raise AssertionError("parsed a malformed call")

        assert issubclass(InvalidStepInput, ValueError)
        bad = {"key": "i1:reserve", "input": {"orderId": "o", "sku": "apple", "quantity": 0}}
        answer = saga_activity(reserve_inventory)(bad)
        assert answer["error"]["code"] == "InvalidStepInput"
        assert (
            "ReserveLine input: quantity: Input should be greater than or equal to 1"
            in (answer["error"]["message"])
        )

    def test_the_message_is_one_line_and_clipped(self) -> None:
        """Whitespace runs and newlines become one space; a long text ends in an ellipsis."""
        answer = saga_activity(Raising(PermanentError("first line\n  second\tline")))(CALL)
        assert answer["error"]["message"] == "first line second line"
        answer = saga_activity(Raising(PermanentError("x" * 5000)))(CALL)
        message = answer["error"]["message"]
        assert len(message) == MAX_MESSAGE_CHARS and message.endswith("…")

    def test_an_error_without_a_message_is_named_by_its_class(self) -> None:
        answer = saga_activity(Raising(PermanentError()))(CALL)
        assert answer["error"]["message"] == "PermanentError"

    def test_it_is_logged_with_the_activity_and_key(self, caplog: pytest.LogCaptureFixture) -> None:
        """The envelope loses the traceback, so the log keeps it; kwargs (as the worker passes
        the input) are searched for the key too."""
        with caplog.at_level(logging.ERROR, logger="shared.saga.activity"):
            saga_activity(Raising(IdempotencyConflict("i1:reserve")))(call=CALL)
        [record] = caplog.records
        text = record.getMessage()
        assert "reserve_inventory" in text and "'i1:reserve'" in text
        assert "IdempotencyKeyReused" in text
        assert record.exc_info is not None and record.exc_info[0] is IdempotencyConflict


class TestTransientErrors:
    @pytest.mark.parametrize("make", TRANSIENT.values(), ids=TRANSIENT.keys())
    def test_each_is_raised_unchanged_for_the_engine_to_retry(
        self, make: Callable[[], Exception], caplog: pytest.LogCaptureFixture
    ) -> None:
        error = make()
        activity = Raising(error)
        with pytest.raises(type(error)) as raised:
            saga_activity(activity)(CALL)
        assert raised.value is error
        assert activity.calls == 1
        [record] = [r for r in caplog.records if r.name == "shared.saga.activity"]
        assert (record.levelno, record.outcome) == (logging.WARNING, "faulted")  # not "failed"

    def test_a_reply_passes_through_unchanged(self) -> None:
        assert saga_activity(Raising())(CALL) == {"ok": True, "value": "i1:reserve"}

    def test_a_business_failure_passes_through_unchanged(self) -> None:
        def charge_payment(call: dict) -> dict[str, Any]:
            return failure("InsufficientFunds", "750 cents wanted, the balance is 5")

        answer = saga_activity(charge_payment)(CALL)
        assert answer == failure("InsufficientFunds", "750 cents wanted, the balance is 5")


class TestWrapping:
    def test_the_name_and_signature_the_worker_binds_by_survive(self) -> None:
        """The worker binds the input by parameter name and checks its annotation (`dict`)."""

        def create_order(call: dict) -> dict[str, Any]:
            return call

        for wrapped in (saga_activity(create_order), saga_activity(chaotic(create_order))):
            assert wrapped.__name__ == "create_order"
            signature = inspect.signature(wrapped)
            assert list(signature.parameters) == ["call"]
            assert signature.parameters["call"].annotation in (dict, "dict")

    def test_under_chaotic_a_chaos_fault_is_still_raised(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """ChaosFault is retryable: at rate 1 every delivery raises it through the wrapper."""
        set_chaos(monkeypatch, rate=1, seed=3)
        activity = saga_activity(chaotic(Raising()))
        for _ in range(4):
            with pytest.raises(ChaosFault):
                activity(CALL)

    def test_under_chaotic_a_permanent_error_still_becomes_a_failure(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With a fault drawn `after`, the activity runs first; its error wins over the fault."""
        set_chaos(monkeypatch, rate=1, seed=3)  # before, after, before, after
        inner = Raising(InvalidStepInput("activity call: missing field(s) ['input']"))
        activity = saga_activity(chaotic(inner))
        with pytest.raises(ChaosFault):
            activity(CALL)
        assert activity(CALL)["error"]["code"] == "InvalidStepInput"
        assert inner.calls == 1


def registered_activities() -> list[FunctionBuilder]:
    """Every function the activity blueprints register (all of them activities)."""
    return [builder for bp in blueprints for builder in bp._function_builders]


def test_every_activity_of_the_app_is_wrapped() -> None:
    """A malformed call is refused before any storage is touched: each of the app's activities
    answers it with the InvalidStepInput failure instead of raising."""
    activities = registered_activities()
    assert all(bp._function_builders for bp in blueprints)  # every service module has some
    for activity in activities:
        answer = activity({"key": "i1:step"})
        expected = "activity call must be {key, input}, got {'key': 'i1:step'}"
        assert answer == failure("InvalidStepInput", expected), activity
