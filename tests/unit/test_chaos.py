"""The chaos knob: off by default, always on at rate 1, reproducible with a seed."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared import services
from shared.chaos import Chaos, ChaosFault, When, chaotic, current_chaos

Knob = Callable[..., None]


@pytest.fixture
def knob(monkeypatch: pytest.MonkeyPatch) -> Iterator[Knob]:
    """Set CHAOS_FAULT_RATE / CHAOS_SEED (None unsets) and make the app read them again."""

    def set_knob(rate: float | None = None, seed: int | None = None) -> None:
        for name, value in (("CHAOS_FAULT_RATE", rate), ("CHAOS_SEED", seed)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, str(value))
        services.reset()

    set_knob()
    yield set_knob
    services.reset()


class Activity:
    """A stand-in activity that counts the local transactions it ran."""

    def __init__(self) -> None:
        self.ran = 0

    def __call__(self, call: dict[str, Any]) -> dict[str, Any]:
        self.ran += 1
        return {"ok": True, "value": call["key"]}


def deliveries(activity: Callable[[dict[str, Any]], Any], count: int) -> list[When | None]:
    """Deliver `count` times; what happened each time (None: it replied)."""
    seen: list[When | None] = []
    for number in range(count):
        try:
            activity({"key": f"i{number}:step", "input": {}})
            seen.append(None)
        except ChaosFault as fault:
            seen.append(fault.when)
    return seen


class TestOff:
    def test_no_rate_set_means_no_knob_and_no_faults(self, knob: Knob) -> None:
        """By default nothing is drawn: the wrapper just calls through."""
        activity = Activity()
        assert current_chaos() is None
        assert deliveries(chaotic(activity), 500) == [None] * 500
        assert activity.ran == 500

    def test_rate_zero_never_faults_even_with_a_seed(self, knob: Knob) -> None:
        """CHAOS_FAULT_RATE=0 is off, whatever the seed."""
        knob(rate=0, seed=1)
        assert current_chaos() is None
        assert deliveries(chaotic(Activity()), 500) == [None] * 500


class TestOn:
    def test_rate_one_faults_every_delivery(self, knob: Knob) -> None:
        """At rate 1 no reply ever gets through."""
        knob(rate=1, seed=5)
        assert None not in deliveries(chaotic(Activity()), 500)

    def test_a_fault_before_skips_the_transaction_and_one_after_runs_it(self, knob: Knob) -> None:
        """A `before` fault leaves no effect; an `after` one ran the transaction, lost the reply."""
        knob(rate=1, seed=5)
        activity = Activity()
        seen = deliveries(chaotic(activity), 400)
        assert activity.ran == seen.count("after")

    def test_faults_split_about_half_before_and_half_after(self, knob: Knob) -> None:
        """The two kinds are equally likely (seeded, so this is not flaky)."""
        knob(rate=1, seed=11)
        seen = deliveries(chaotic(Activity()), 2000)
        assert 900 < seen.count("before") < 1100

    def test_a_partial_rate_faults_about_that_often(self, knob: Knob) -> None:
        """Rate 0.3 faults roughly 30% of deliveries."""
        knob(rate=0.3, seed=2)
        seen = deliveries(chaotic(Activity()), 2000)
        assert 500 < len(seen) - seen.count(None) < 700

    def test_the_fault_names_the_activity_and_key_and_is_retryable(self, knob: Knob) -> None:
        """Logs and the saga's status show which delivery chaos failed; retrying is right."""
        knob(rate=1, seed=0)

        def reserve_inventory(call: dict[str, Any]) -> None:
            pass

        with pytest.raises(ChaosFault) as caught:
            chaotic(reserve_inventory)({"key": "i1:reserve", "input": {}})
        assert caught.value.activity == "reserve_inventory"
        assert caught.value.key == "i1:reserve"
        assert "i1:reserve" in str(caught.value)
        assert ChaosFault.retryable


class TestSeed:
    def test_the_same_seed_repeats_the_sequence_of_faults(self, knob: Knob) -> None:
        """Re-reading the settings restarts the sequence, which then repeats exactly."""
        knob(rate=0.5, seed=42)
        first = deliveries(chaotic(Activity()), 300)
        knob(rate=0.5, seed=42)
        assert deliveries(chaotic(Activity()), 300) == first
        assert {None, "before", "after"} == set(first)

    def test_a_different_seed_gives_a_different_sequence(self, knob: Knob) -> None:
        """The seed, not luck, decides the before/after split."""
        knob(rate=1, seed=1)
        one = deliveries(chaotic(Activity()), 100)
        knob(rate=1, seed=2)
        assert deliveries(chaotic(Activity()), 100) != one

    def test_settings_are_read_once_until_they_are_reloaded(
        self, knob: Knob, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Changing the environment alone does not turn the knob; reloading settings does."""
        knob(rate=1, seed=3)
        knob_before = current_chaos()
        monkeypatch.setenv("CHAOS_FAULT_RATE", "0")
        assert current_chaos() is knob_before
        services.reset()
        assert current_chaos() is None


class TestWrapper:
    def test_the_wrapper_keeps_the_name_and_signature_the_worker_binds_by(self) -> None:
        """The Functions worker binds the activity input by parameter name and names the function
        after it, so both must survive wrapping."""

        def create_order(call: dict[str, Any]) -> dict[str, Any]:
            return call

        wrapped = chaotic(create_order)
        assert wrapped.__name__ == "create_order"
        assert list(inspect.signature(wrapped).parameters) == ["call"]

    def test_a_rate_outside_zero_to_one_is_refused(self) -> None:
        """A Chaos made by hand validates like the setting does."""
        with pytest.raises(ValueError, match="from 0 to 1"):
            Chaos(1.5)
