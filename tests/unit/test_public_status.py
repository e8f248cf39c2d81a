"""The status clients see repeats the engine's: PublicStatus (shared/saga/public.py) is
SagaStatus (shared/saga/status.py) plus Failed, which only the API sets."""

from __future__ import annotations

from contracts.order import OrderStatus
from shared.saga.public import PublicStatus
from shared.saga.status import SagaStatus


def test_every_saga_status_is_a_public_status_of_the_same_name() -> None:
    for status in SagaStatus:
        assert PublicStatus[status.name].value == status.value


def test_failed_is_the_only_status_the_engine_never_publishes() -> None:
    """The API sets Failed for an orchestration that failed or was terminated (saga_state)."""
    extra = {status.value for status in PublicStatus} - {status.value for status in SagaStatus}
    assert extra == {PublicStatus.FAILED.value}


def test_an_order_status_is_a_public_status() -> None:
    assert OrderStatus is PublicStatus
