"""Durable timers relative to the orchestration's deterministic clock.

A wait longer than ``LONGEST_TIMER`` is armed as a chain of timers ("legs") of at most that
length, each raced by the caller and re-armed here; the SDK's own splitting is never used.
Why: the extension passes the storage provider's limits (``maximumShortTimerDuration`` 6 days,
``longRunningTimerIntervalDuration`` 3 days; OrchestrationTriggerAttributeBindingProvider
.OrchestrationContextToString, AzureStorageDurabilityProvider), and for a timer further out the
SDK (azure-functions-durable 1.7.0, models/Task.py ``LongTimerTask``) returns a task that:

- on ``cancel()`` (line 382) flags only its own overall action, which is never sent, so the leg
  in flight stays armed, and it keeps arming legs after that;
- arms each leg after the first as a top-level action (``add_new_child``, line 437), after
  the ``task_any`` that raced it. The extension's shim issues the actions one at a time and
  awaits each (OutOfProcOrchestrationShim.ProcessAsyncActionsV2), so every action the
  orchestrator takes after a leg fired waits for the next leg, and so on to the full length.

An approval raced against a 30-day timeout and answered after the first leg therefore held the
saga for up to 30 days (upstream: Azure/azure-functions-durable-python#573, open). A leg armed
here is a plain timer: it is listed inside the race that waits for it, and its ``cancel()``
is sent (isCanceled), so the shim moves on at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

# The Azure Storage provider's longest timer (AzureStorageDurabilityProvider.MaximumDelayTime).
# The SDK splits only timers further out than this, so a leg of this length is a plain timer;
# waits up to this long are one timer, exactly as before legs existed.
LONGEST_TIMER = timedelta(days=6)


class Timer:
    """A durable timer of any length: race ``task`` (the leg in flight); when it wins, ask
    ``rearmed(winner)`` before treating the timer as fired."""

    def __init__(self, context: Any, seconds: float) -> None:
        self._context = context
        self.fire_at = context.current_utc_datetime + timedelta(seconds=seconds)
        self._last_leg = False
        self.task: Any = self._arm()

    def _arm(self) -> Any:
        leg_end = min(self.fire_at, self._context.current_utc_datetime + LONGEST_TIMER)
        self._last_leg = leg_end == self.fire_at
        return self._context.create_timer(leg_end)

    def rearmed(self, winner: Any) -> bool:
        """True when ``winner`` is a leg that ended before ``fire_at``: the next leg is then
        armed (as ``task``) and the caller races again. False for any other winner, and once
        the timer has fired. Deterministic: it reads only the replayed clock."""
        if winner is not self.task or self._last_leg:
            return False
        if self._context.current_utc_datetime >= self.fire_at:  # the leg fired late
            return False
        self.task = self._arm()
        return True


def start_timer(context: Any, seconds: float) -> Timer:
    """A durable timer firing ``seconds`` after the orchestration's current (replayed) time."""
    return Timer(context, seconds)


def cancel_timer(timer: Any) -> None:
    """Cancel a timer (a ``Timer``, or an SDK timer task) that lost its race, so the instance
    does not wait for it to fire."""
    if isinstance(timer, Timer):
        timer = timer.task
    if timer is not None and not timer.is_completed:
        timer.cancel()
