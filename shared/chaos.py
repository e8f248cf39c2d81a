"""The chaos knob: activities raise ChaosFault at CHAOS_FAULT_RATE, half after they committed."""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable
from typing import ClassVar, Literal, ParamSpec, TypeVar

from shared.errors import SagaError
from shared.saga.activity import call_key

When = Literal["before", "after"]
P = ParamSpec("P")
R = TypeVar("R")


class ChaosFault(SagaError):
    """A fault injected on purpose, `before` the local transaction or `after` it committed (the
    reply is lost); retrying with the same idempotency key must find the ledger record."""

    retryable: ClassVar[bool] = True

    def __init__(self, activity: str, key: str | None, when: When) -> None:
        detail = "before it ran" if when == "before" else "after it committed; reply lost"
        super().__init__(f"chaos: {activity} (key {key!r}) failed {detail}")
        self.activity = activity
        self.key = key
        self.when = when


class Chaos:
    """Decides, one draw per invocation, whether it faults and when; thread-safe."""

    def __init__(self, rate: float, seed: int | None = None) -> None:
        if not 0 <= rate <= 1:
            raise ValueError(f"chaos fault rate must be from 0 to 1, got {rate!r}")
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> When | None:
        """None (no fault), or when to fault; with a seed, the sequence of draws repeats."""
        with self._lock:
            sample = self._random.random()
        if sample >= self.rate:
            return None
        return "before" if sample < self.rate / 2 else "after"


def chaotic(activity: Callable[P, R]) -> Callable[P, R]:
    """Wrap an activity so the chaos knob can fail it; with the knob off it just calls through."""

    name = getattr(activity, "__name__", type(activity).__name__)

    @functools.wraps(activity)  # the Functions worker binds the input by the parameter's name
    def invoke(*args: P.args, **kwargs: P.kwargs) -> R:
        chaos = current_chaos()
        when = chaos.draw() if chaos is not None else None
        if when is None:
            return activity(*args, **kwargs)
        fault = ChaosFault(name, call_key(*args, *kwargs.values()), when)
        if when == "before":
            raise fault
        activity(*args, **kwargs)
        raise fault

    return invoke


def current_chaos() -> Chaos | None:
    """The knob of the services in use (`shared.services.current()`), or None when
    CHAOS_FAULT_RATE is 0."""
    from shared.services import current  # imported here: services builds its knob from Chaos

    return current().chaos
