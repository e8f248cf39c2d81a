"""The chaos knob: activities raise ChaosFault at CHAOS_FAULT_RATE, half after they committed."""

from __future__ import annotations

import functools
import logging
import random
import threading
from collections.abc import Callable
from typing import ClassVar, Literal, ParamSpec, TypeVar

from shared.errors import SagaError
from shared.saga.activity import call_key
from shared.settings import Settings, get_settings

When = Literal["before", "after"]
P = ParamSpec("P")
R = TypeVar("R")

_log = logging.getLogger(__name__)


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


_state_lock = threading.Lock()
_state: tuple[Settings, Chaos | None] | None = None


def current_chaos() -> Chaos | None:
    """The knob for the current settings (rebuilt after `get_settings.cache_clear()`), or None
    when CHAOS_FAULT_RATE is 0."""
    global _state
    settings = get_settings()
    state = _state
    if state is None or state[0] is not settings:
        with _state_lock:
            state = _state
            if state is None or state[0] is not settings:
                chaos = None
                if settings.chaos_fault_rate > 0:
                    chaos = Chaos(settings.chaos_fault_rate, settings.chaos_seed)
                    _log.warning(
                        "chaos knob on: activities fail at rate %s (seed %s)",
                        settings.chaos_fault_rate,
                        settings.chaos_seed,
                    )
                state = _state = (settings, chaos)
    return state[1]
