"""Retry-After for a GET of a saga: its age, 1 s to 30 s, none once finished."""

from datetime import UTC, datetime, timedelta

import pytest

from api.polling import poll_after, retry_after
from shared.saga.public import FINISHED, PublicStatus

START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age_seconds", "wait"),
    [(-5, 1), (0, 1), (0.9, 1), (1.5, 1), (2.2, 2), (4.1, 4), (29.9, 29), (30, 30), (86_400, 30)],
)
def test_the_wait_grows_with_the_sagas_age(age_seconds: float, wait: int) -> None:
    """A clock behind the saga's creation (another host's) still gives the first wait."""
    assert poll_after(START, START + timedelta(seconds=age_seconds)) == wait


def test_a_finished_saga_has_no_retry_after_and_an_unfinished_one_has() -> None:
    for status in PublicStatus:
        headers = retry_after(status, datetime.now(UTC))
        assert headers == ({} if status in FINISHED else {"Retry-After": "1"})
