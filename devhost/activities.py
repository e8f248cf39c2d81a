"""Runs activity functions with the host's serialisation and failure shape."""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.invocation import ClientBinding, Parameters, client_ready

log = logging.getLogger("devhost")


@dataclass(frozen=True)
class ActivityOutcome:
    """What one activity invocation produced: a JSON result, or a failure reason and details."""

    result: str | None = None
    failed: bool = False
    reason: str = ""
    details: str = ""


class ActivityInvoker(Protocol):
    """Runs one activity invocation to an outcome (in-process threads, or worker processes)."""

    async def run(self, name: str, function: Any, input_text: str | None) -> ActivityOutcome: ...

    def close(self) -> None: ...


class ActivityRunner:
    """Invokes activities: sync ones on a bounded thread pool, async ones on the loop.

    ``client`` is the durable client binding for activities that declare a durable client input.
    """

    def __init__(self, max_concurrent: int, client: ClientBinding | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="activity")
        self._async_slots = asyncio.Semaphore(max_concurrent)
        self._client = client

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, name: str, function: Any, input_text: str | None) -> ActivityOutcome:
        try:
            await client_ready(function, self._client)
        except Exception as error:  # the durable HTTP API its client calls could not be served
            outcome = _failed(name, error)
        else:
            outcome = await self._run(name, function, input_text)
        log_failure(name, outcome)
        return outcome

    async def _run(self, name: str, function: Any, input_text: str | None) -> ActivityOutcome:
        if inspect.iscoroutinefunction(function.get_user_function()):
            async with self._async_slots:
                return await run_activity_async(name, function, input_text, self._client)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, run_activity, name, function, input_text, self._client
        )


def run_activity(
    name: str, function: Any, input_text: str | None, client: ClientBinding | None = None
) -> ActivityOutcome:
    """Run a sync activity function on this thread, as the worker would: JSON in, JSON out."""
    try:
        user_function, arguments = _prepare(function, input_text, client)
        return _succeeded(user_function(**arguments))
    except Exception as error:  # an activity fault becomes TaskFailed, as on the real host
        return _failed(name, error)


async def run_activity_async(
    name: str, function: Any, input_text: str | None, client: ClientBinding | None = None
) -> ActivityOutcome:
    """Run an async activity function on the running loop."""
    try:
        user_function, arguments = _prepare(function, input_text, client)
        return _succeeded(await user_function(**arguments))
    except Exception as error:
        return _failed(name, error)


def log_failure(name: str, outcome: ActivityOutcome) -> None:
    """Log a failed invocation with its exception type and message (and the user's traceback),
    as the host logs a failed function."""
    if outcome.failed:
        details = f"\n{outcome.details.rstrip()}" if outcome.details else ""
        log.error("%s%s", outcome.reason, details)


def _prepare(
    function: Any, input_text: str | None, client: ClientBinding | None
) -> tuple[Any, dict[str, Any]]:
    argument = ActivityTriggerConverter.decode(
        meta.Datum(type="json", value=input_text or "null"), trigger_metadata=None
    )
    return function.get_user_function(), Parameters.of(function).arguments(argument, client)


def _succeeded(value: Any) -> ActivityOutcome:
    return ActivityOutcome(result=ActivityTriggerConverter.encode(value, expected_type=None).value)


def _failed(name: str, error: Exception) -> ActivityOutcome:
    return ActivityOutcome(
        failed=True,
        # TaskActivityShim: the worker's "Exception: <Type>: <message>" line, its leading
        # space kept, after the extension's prefix (hence two spaces).
        reason=f"Activity function '{name}' failed:  {type(error).__name__}: {error}",
        details=_user_traceback(error),
    )


def _user_traceback(error: BaseException) -> str:
    """The traceback from the user's frames on, as the worker reports it (host frames cut)."""
    frames = traceback.extract_tb(error.__traceback__)
    while frames and not _is_user_frame(frames[0].filename):
        frames.pop(0)
    lines = traceback.format_list(frames) + traceback.format_exception_only(error)
    return "Traceback (most recent call last):\n" + "".join(lines)


def _is_user_frame(filename: str) -> bool:
    return "concurrent/futures" not in filename and not filename.startswith(_DEVHOST_DIR)


_DEVHOST_DIR = str(Path(__file__).resolve().parent)
