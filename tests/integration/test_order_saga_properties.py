"""Property: whatever the order mix and the faults (chaos, duplicate deliveries, lost replies,
host crashes), every order ends terminal and stock and balances are exactly right."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.settings import SAGA_STYLES
from tests.integration.shop import BALANCE, assert_books_balance, open_shop, place
from tests.world import open_world

pytestmark = pytest.mark.azurite

orders = st.lists(
    st.tuples(
        st.sampled_from(sorted(BALANCE)),
        st.dictionaries(st.sampled_from(["apple", "pear"]), st.integers(1, 4), min_size=1),
        st.sampled_from(["NL", "NL", "NL", "AQ"]),
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.parametrize("style", SAGA_STYLES)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mix=orders,
    chaos_rate=st.sampled_from([0.0, 0.3]),
    chaos_seed=st.integers(0, 10_000),
    duplicates=st.booleans(),
    lost_replies=st.booleans(),
    crash_after=st.none() | st.integers(0, 7),
)
def test_every_order_ends_terminal_and_the_books_balance(
    azurite: str,
    style: str,
    mix: list[tuple[str, dict[str, int], str]],
    chaos_rate: float,
    chaos_seed: int,
    duplicates: bool,
    lost_replies: bool,
    crash_after: int | None,
) -> None:
    with (
        open_world("tables", azurite) as world,
        open_shop(world, chaos_rate, chaos_seed, style=style) as host,
    ):
        if duplicates:
            host.faults.duplicate_delivery("*", times=None, concurrent=chaos_seed % 2 == 0)
        if lost_replies:
            host.faults.crash_after_commit("*", times=5)
        placed = []
        for index, (customer, lines, country) in enumerate(mix):
            placed.append((place(host, customer, lines, country), customer, lines))
            if index == crash_after:
                host.restart()  # in-flight work is lost; only what was saved survives
        completed = []
        for order_id, customer, lines in placed:
            state = host.wait_for(order_id, timeout=120)
            summary = host.output(order_id)
            assert state.runtime_status == "Completed", summary
            assert summary["status"] in ("Completed", "Compensated"), summary
            if summary["status"] == "Completed":
                completed.append((customer, lines))
        host.wait_idle()
        assert_books_balance(completed)
