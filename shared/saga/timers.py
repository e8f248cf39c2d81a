"""Durable timers relative to the orchestration's deterministic clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def start_timer(context: Any, seconds: float) -> Any:
    """A durable timer firing ``seconds`` after the orchestration's current (replayed) time."""
    return context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))


def cancel_timer(timer: Any) -> None:
    """Cancel a timer that lost its race, so the instance does not wait for it to fire."""
    if timer is not None and not timer.is_completed:
        timer.cancel()
