"""Waiting in tests for what another thread or process brings about: poll until it holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


def eventually(check: Callable[[], T], *, timeout: float, what: str, every: float = 0.05) -> T:
    """Call ``check`` every ``every`` seconds until it returns something true, and return that.

    After ``timeout`` seconds without, fail with an AssertionError saying ``what`` did not
    happen. An exception from ``check`` (a failed assertion included) ends the wait at once.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(every),
        retry=retry_if_result(lambda value: not value),
    )
    try:
        return retrying(check)
    except RetryError:
        raise AssertionError(f"{what} did not happen within {timeout:g} s") from None
