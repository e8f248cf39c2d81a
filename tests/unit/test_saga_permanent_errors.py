"""Errors no retry can fix end a step at its first attempt; transient faults keep their backoff.

Driven through devhost with the fixture app apps/permanent: the `order` saga books, pays and
ships (the pivot), over fake activities wrapped in `saga_activity` that raise what the saga
input's `fail` map says.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devhost.history import EventType
from devhost.instance import COMPLETED
from devhost.testing import DevHost
from tests.unit.saga_host import clock, events, journal, scheduled, step

APP = Path(__file__).parent / "apps" / "permanent"


@pytest.fixture
def host() -> Iterator[DevHost]:
    with DevHost(APP) as running:
        fake_app(running).reset()
        yield running


@pytest.fixture
def fakes(host: DevHost) -> ModuleType:
    return fake_app(host)


def fake_app(host: DevHost) -> ModuleType:
    function = host.functions.activities["book"].get_user_function()
    return sys.modules[function.__module__]


def run_to_end(host: DevHost, saga_input: dict[str, Any]) -> str:
    instance_id = host.start("order", saga_input)
    assert host.wait_for(instance_id).runtime_status == COMPLETED
    return instance_id


PERMANENT = {
    "invalid": ("InvalidStepInput", "ChargePayment input: orderId: Field required"),
    "reused": ("IdempotencyKeyReused", "was already used for a different request"),
    "permanent": ("PermanentFault", "pay: the provider closed this account for good"),
    "too_large": ("PermanentFault", "exceeds 100 operations"),
}


class TestPermanentErrors:
    @pytest.mark.parametrize(("spec", "expected"), PERMANENT.items(), ids=PERMANENT.keys())
    def test_the_step_is_attempted_once_and_the_saga_compensates(
        self, host: DevHost, fakes: ModuleType, spec: str, expected: tuple[str, str]
    ) -> None:
        """pay fails for good at its first attempt: no retry, no backoff timer; pay (outcome
        settled, nothing applied) and book are compensated, newest first; ship never runs."""
        code, message = expected
        instance_id = run_to_end(host, {"fail": {"pay": spec}})
        output = host.output(instance_id)
        assert output["status"] == "Compensated"
        failure = output["failure"]
        assert (failure["step"], failure["code"]) == ("pay", code)
        assert message in failure["message"]
        assert scheduled(host, instance_id) == ["book", "pay", "refund", "unbook"]
        assert step(host, instance_id, "pay")["attempts"] == 1
        assert step(host, instance_id, "pay")["lastError"]["code"] == code
        assert events(host, instance_id, EventType.TIMER_CREATED) == []
        assert journal(fakes, instance_id) == [
            ("book", "ok"),
            ("pay", spec),
            ("refund", "tombstone"),
            ("unbook", "undone"),
        ]
        assert step(host, instance_id, "book")["status"] == "Compensated"
        assert step(host, instance_id, "ship")["status"] == "Skipped"
        assert clock(host).next_due() is None

    def test_a_permanent_error_in_a_compensation_waits_for_the_operator_at_once(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """unbook fails for good: NeedsAttention after one attempt instead of three; once the
        operator has fixed it, RetryCompensation runs it again and the saga ends Compensated."""
        instance_id = host.start("order", {"fail": {"pay": "business", "unbook": "permanent"}})
        host.wait_idle()
        status = host.custom_status(instance_id)
        assert status["status"] == "NeedsAttention"
        assert status["attention"]["step"] == "book"
        assert status["attention"]["code"] == "PermanentFault"
        assert step(host, instance_id, "book")["attempts"] == 1  # the action's, not unbook's
        assert scheduled(host, instance_id).count("unbook") == 1
        assert events(host, instance_id, EventType.TIMER_CREATED) == []
        fakes.repaired.add("unbook")
        host.raise_event(instance_id, "RetryCompensation")
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id)["status"] == "Compensated"
        assert scheduled(host, instance_id).count("unbook") == 2
        assert journal(fakes, instance_id)[-1] == ("unbook", "undone")


class TestRetryableFaults:
    def test_a_transient_fault_still_gets_its_retries_with_backoff(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """pay raises twice, then succeeds on the third attempt, after two backoff timers."""
        instance_id = run_to_end(host, {"fail": {"pay": "fault:2"}})
        assert host.output(instance_id)["status"] == "Completed"
        assert scheduled(host, instance_id).count("pay") == 3
        assert step(host, instance_id, "pay")["attempts"] == 3
        assert len(events(host, instance_id, EventType.TIMER_CREATED)) == 2

    def test_a_plain_value_error_is_a_fault_and_retried_to_the_end(
        self, host: DevHost, fakes: ModuleType
    ) -> None:
        """Only the error classes say "permanent": a bare ValueError is retried on every
        attempt the policy allows, then the saga compensates with ActivityFault."""
        instance_id = run_to_end(host, {"fail": {"pay": "value_error"}})
        output = host.output(instance_id)
        assert output["status"] == "Compensated"
        assert (output["failure"]["step"], output["failure"]["code"]) == ("pay", "ActivityFault")
        assert "pay attempt 3 found a broken invariant" in output["failure"]["message"]
        assert scheduled(host, instance_id).count("pay") == 3
        assert step(host, instance_id, "pay")["attempts"] == 3
        assert journal(fakes, instance_id)[-1] == ("unbook", "undone")
