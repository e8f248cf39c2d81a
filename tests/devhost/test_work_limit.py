"""WorkLimit: host.json's maxConcurrent*Functions, with waiters served in order."""

from __future__ import annotations

import asyncio

import pytest

from devhost.concurrency import WorkLimit


def test_no_more_than_the_limit_hold_at_once_and_waiters_go_in_order() -> None:
    async def scenario() -> tuple[int, list[int]]:
        limit = WorkLimit(2)
        holding = peak = 0
        order: list[int] = []

        async def work(n: int) -> None:
            nonlocal holding, peak
            async with limit:
                order.append(n)
                holding += 1
                peak = max(peak, holding)
                await asyncio.sleep(0.01 * (3 - n % 3))
                holding -= 1

        await asyncio.gather(*(work(n) for n in range(7)))
        assert limit.running == 0
        return peak, order

    peak, order = asyncio.run(scenario())
    assert peak == 2
    assert order == list(range(7))


def test_the_oldest_wait_is_the_first_waiters_and_a_cancelled_waiter_leaves_no_trace() -> None:
    async def scenario() -> list[float]:
        limit = WorkLimit(1)
        release = asyncio.Event()

        async def hold() -> None:
            async with limit:
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0)
        first = asyncio.create_task(hold())
        await asyncio.sleep(0.2)
        second = asyncio.create_task(hold())
        await asyncio.sleep(0.05)
        waits = [limit.oldest_wait()]
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        waits.append(limit.oldest_wait())
        release.set()
        await asyncio.gather(holder, second)
        waits.append(limit.oldest_wait())
        assert limit.running == 0
        return waits

    by_first, by_second, none = asyncio.run(scenario())
    assert by_first >= 0.25
    assert 0.05 <= by_second < by_first
    assert none == 0.0


def test_a_waiter_cancelled_as_its_turn_comes_hands_the_slot_on() -> None:
    async def scenario() -> int:
        limit = WorkLimit(1)
        entered: list[str] = []

        async def hold(name: str, release: asyncio.Event) -> None:
            async with limit:
                entered.append(name)
                await release.wait()

        go = asyncio.Event()
        holder = asyncio.create_task(hold("holder", go))
        await asyncio.sleep(0)
        unlucky = asyncio.create_task(hold("unlucky", go))
        later = asyncio.create_task(hold("later", go))
        await asyncio.sleep(0)
        go.set()
        await asyncio.sleep(0)  # the holder leaves and hands its slot to the unlucky one...
        unlucky.cancel()  # ...which is cancelled before it runs
        await asyncio.gather(holder, unlucky, later, return_exceptions=True)
        assert "later" in entered
        return limit.running

    assert asyncio.run(scenario()) == 0


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WorkLimit(limit)
