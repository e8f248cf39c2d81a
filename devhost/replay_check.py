"""The replay check: each episode runs twice, the second time in another world, and must agree.

Azure only notices non-deterministic orchestrator code when a replay schedules something that
contradicts the history, often days later and after a deployment. devhost goes further: it runs
every episode a second time with the wall clock shifted by more than a day, other random numbers
and other uuids, and fails the instance when the two runs ask for different things. So a
``datetime.now()``, ``random()`` or ``uuid4()`` in orchestrator code fails on its first local run.

The second world is visible only to the thread running the check, so activities running on other
threads at the same moment still see the real clock and the real random numbers.
"""

from __future__ import annotations

import datetime as _datetime
import json
import random
import sys
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType

from devhost.episode import EpisodeResult, call_orchestrator, decode_episode

SHIFT = _datetime.timedelta(days=1, hours=11, minutes=7, seconds=13, microseconds=250_000)
SHIFT_SECONDS = SHIFT.total_seconds()
_OTHER_SEED = 0x5EED

_REAL_DATETIME = _datetime.datetime
_REAL_DATE = _datetime.date
_world = threading.local()


def _shifted() -> bool:
    return getattr(_world, "shifted", False)


class _PassesForReal(type):
    """Instances of the real class pass ``isinstance`` checks against the stand-in."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls.__mro__[1])

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls.__mro__[1])


class _Datetime(_REAL_DATETIME, metaclass=_PassesForReal):
    """Stands in for ``datetime.datetime`` in user modules; everything it makes is a real one."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _datetime.datetime:  # type: ignore[misc]
        return _REAL_DATETIME(*args, **kwargs)

    @classmethod
    def now(cls, tz: _datetime.tzinfo | None = None) -> _datetime.datetime:  # type: ignore[override]
        value = _REAL_DATETIME.now(tz)
        return value + SHIFT if _shifted() else value

    @classmethod
    def utcnow(cls) -> _datetime.datetime:  # type: ignore[override]
        value = _REAL_DATETIME.now(_datetime.UTC).replace(tzinfo=None)
        return value + SHIFT if _shifted() else value

    @classmethod
    def today(cls) -> _datetime.datetime:  # type: ignore[override]
        return cls.now()


class _Date(_REAL_DATE, metaclass=_PassesForReal):
    """Stands in for ``datetime.date`` in user modules; everything it makes is a real one."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _datetime.date:  # type: ignore[misc]
        return _REAL_DATE(*args, **kwargs)

    @classmethod
    def today(cls) -> _datetime.date:  # type: ignore[override]
        return _Datetime.now().date()


def _datetime_module_view() -> types.ModuleType:
    """A stand-in for ``import datetime`` in app modules, with the two clock classes replaced."""
    view = types.ModuleType("datetime", _datetime.__doc__)
    view.__dict__.update(vars(_datetime))
    view.datetime = _Datetime  # type: ignore[attr-defined]
    view.date = _Date  # type: ignore[attr-defined]
    return view


def _patched(real: Callable[..., Any], other: Callable[..., Any]) -> Callable[..., Any]:
    def either(*args: Any, **kwargs: Any) -> Any:
        return (other if _shifted() else real)(*args, **kwargs)

    either.__name__ = getattr(real, "__name__", "patched")
    either.__doc__ = real.__doc__
    either.__wrapped__ = real  # type: ignore[attr-defined]
    return either


class _OtherWorld:
    """What the second run sees instead of the clock, ``random`` and ``uuid``."""

    def __init__(self) -> None:
        self.random = random.Random(_OTHER_SEED)

    def reset(self) -> None:
        self.random.seed(_OTHER_SEED)

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self.random.getrandbits(128), version=4)


_other = _OtherWorld()
_module_count = 0
_LIBRARY_PREFIXES = tuple(
    {str(Path(prefix).resolve()) for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
)
_RANDOM_FUNCTIONS = (
    "random",
    "uniform",
    "triangular",
    "randint",
    "randrange",
    "choice",
    "choices",
    "shuffle",
    "sample",
    "getrandbits",
    "randbytes",
    "gauss",
    "normalvariate",
    "expovariate",
    "betavariate",
)


def _replacements() -> dict[int, Any]:
    """Replacement for each patched callable, keyed by the id of the original."""
    table: dict[int, Any] = {}
    table[id(_REAL_DATETIME)] = _Datetime
    table[id(_REAL_DATE)] = _Date
    table[id(_datetime)] = _DATETIME_VIEW
    for name in ("time", "time_ns"):
        table[id(_REAL_TIME[name])] = getattr(time, name)
    table[id(_REAL_UUID4)] = uuid.uuid4
    for name in _RANDOM_FUNCTIONS:
        if name in _REAL_RANDOM:
            table[id(_REAL_RANDOM[name])] = getattr(random, name)
    return table


_REAL_TIME = {"time": time.time, "time_ns": time.time_ns}
_REAL_UUID4 = uuid.uuid4
_REAL_RANDOM = {name: getattr(random, name) for name in _RANDOM_FUNCTIONS if hasattr(random, name)}
_DATETIME_VIEW = _datetime_module_view()
_patch_lock = threading.Lock()
_patched_modules = False


def _patch_libraries() -> None:
    """Module functions (``time.time``, ``uuid.uuid4``, ``random.*``) answer per thread."""
    global _patched_modules
    if _patched_modules:
        return
    time.time = _patched(_REAL_TIME["time"], lambda: _REAL_TIME["time"]() + SHIFT_SECONDS)
    time.time_ns = _patched(
        _REAL_TIME["time_ns"], lambda: _REAL_TIME["time_ns"]() + int(SHIFT_SECONDS * 1e9)
    )
    uuid.uuid4 = _patched(_REAL_UUID4, _other.uuid4)
    for name, real in _REAL_RANDOM.items():
        setattr(random, name, _patched(real, getattr(_other.random, name)))
    _patched_modules = True


def _is_library(path: str) -> bool:
    return path.startswith(_LIBRARY_PREFIXES) or "site-packages" in path


def _patch_user_modules() -> None:
    """Names user modules imported directly (``from datetime import datetime``) get stand-ins.

    Every module outside the interpreter's and the environment's own trees is user code here:
    the app, the packages it imports from its own folder, and their tests."""
    global _module_count
    table = _replacements()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if not path or _is_library(path) or module is sys.modules[__name__]:
            continue
        namespace = vars(module)
        for name, value in list(namespace.items()):
            replacement = table.get(id(value))
            if replacement is not None and replacement is not value:
                namespace[name] = replacement
    _module_count = len(sys.modules)


def install() -> None:
    """Make the second world available to episodes (idempotent; cheap when nothing changed).

    Called before each checked episode, so modules imported since the last call are patched."""
    if _module_count == len(sys.modules):
        return
    with _patch_lock:
        _patch_libraries()
        _patch_user_modules()


@contextmanager
def _other_world() -> Iterator[None]:
    _other.reset()
    _world.shifted = True
    try:
        yield
    finally:
        _world.shifted = False


def call_checked(handler: Any, payload: str) -> tuple[str | None, str | None]:
    """Like ``call_orchestrator``, but the episode runs twice and the runs must agree.

    Returns the first run's reply, or, when they disagree, a failure naming the first difference.
    """
    install()
    first = call_orchestrator(handler, payload)
    with _other_world():
        second = call_orchestrator(handler, payload)
    difference = describe_difference(decode_episode(*first), decode_episode(*second))
    if difference is None:
        return first
    return None, (
        "Non-deterministic orchestrator code (devhost replay check): the same history, "
        f"replayed with the clock {_shift_text()} later, other random numbers and other uuids, "
        f"{difference}. Orchestrator code must not read the clock, random numbers or new uuids: "
        "use context.current_utc_datetime and context.new_uuid(), and pass other values in "
        "as input or get them from activities."
    )


def describe_difference(first: EpisodeResult, second: EpisodeResult) -> str | None:
    """What differs between two runs of one episode, in words; None when nothing does."""
    for index, (one, other) in enumerate(zip(first.actions, second.actions, strict=False)):
        if _canonical(one) != _canonical(other):
            return (
                f"scheduled action #{index} differently: first {describe_action(one)}, "
                f"then {describe_action(other)}"
            )
    if len(first.actions) != len(second.actions):
        longer = first.actions if len(first.actions) > len(second.actions) else second.actions
        extra = longer[min(len(first.actions), len(second.actions))]
        return (
            f"scheduled {len(first.actions)} and then {len(second.actions)} actions "
            f"(first extra: {describe_action(extra)})"
        )
    if (first.error is None) != (second.error is None):
        failed = first if first.error is not None else second
        return f"failed in one run only ({_clip(failed.error or '')})"
    if first.is_done != second.is_done or _canonical(first.output) != _canonical(second.output):
        return (
            f"returned {_clip(_canonical(first.output))}, then {_clip(_canonical(second.output))}"
        )
    if _canonical(first.custom_status) != _canonical(second.custom_status):
        return (
            f"set the custom status to {_clip(_canonical(first.custom_status))}, "
            f"then to {_clip(_canonical(second.custom_status))}"
        )
    return None


def describe_action(action: dict[str, Any]) -> str:
    name = action.get("functionName") or action.get("externalEventName")
    try:
        # CALL_ACTIVITY_WITH_RETRY -> CallActivityWithRetry, the SDK's own action names.
        words = ActionType(action.get("actionType")).name.split("_")
        kind = "".join(word.capitalize() for word in words)
    except ValueError:
        kind = f"action type {action.get('actionType')}"
    details = [repr(name)] if name else []
    if "fireAt" in action:
        details.append(f"fireAt={action['fireAt']}")
    if action.get("input") is not None:
        details.append(f"input={_clip(str(action['input']))}")
    return f"{kind}({', '.join(details)})"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shift_text() -> str:
    """SHIFT as 1 day 11:07:13.25."""
    hours, rest = divmod(SHIFT.seconds, 3600)
    seconds = rest % 60 + SHIFT.microseconds / 1e6
    return f"{SHIFT.days} day {hours:02d}:{rest // 60:02d}:{seconds:05.2f}"
