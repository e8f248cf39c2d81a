"""The saga's external events: the Cancel request and the operator's retry signal.

The SDK (1.7) keeps an event that arrives while no task waits for it and gives that same event
to EVERY later wait on the name (and a second early event overwrites the first). So each
listener here is created once and raced in every wait while it matters: an event is then always
consumed by a task that is waiting, never parked where it could complete a later wait by itself.

On Azure the extension's out-of-process shim issues the SDK's actions one at a time and waits
for each before it issues the next; a race lists only the tasks it adds (those not raced
before). A race that added nothing but a fresh listener would hold back every later action until
that event came, so a listener re-armed after a signal is raced together with a timer that fires
at once (a "nudge"), which lets the shim move on.
"""

from __future__ import annotations

from typing import Any

from shared.saga.timers import cancel_timer, start_timer

CANCEL_EVENT = "Cancel"
RETRY_EVENT = "RetryCompensation"
RESERVED_EVENTS = frozenset({CANCEL_EVENT, RETRY_EVENT})


class Signals:
    """Listeners for Cancel (raced until the pivot) and RetryCompensation (raced always; a
    signal arriving while the saga is not NeedsAttention, e.g. a double click, is dropped)."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self._cancel = context.wait_for_external_event(CANCEL_EVENT)
        self._cancel_armed = True
        self._operator = context.wait_for_external_event(RETRY_EVENT)
        self._nudge: Any = None
        self.cancelled = False

    def disarm_cancel(self) -> None:
        """Past the point of no return: a later Cancel is ignored."""
        self._cancel_armed = False

    def extras(self, cancellable: bool) -> list[Any]:
        """The listener tasks to race beside the work of a wait."""
        tasks = []
        if cancellable and self._cancel_armed and not self.cancelled:
            if self._cancel.is_completed:  # defensive: it completed outside a race
                self.cancelled = True
            else:
                tasks.append(self._cancel)
        tasks.append(self._operator)
        if self._nudge is not None:
            tasks.append(self._nudge)
        return tasks

    def notice(self, winner: Any) -> bool:
        """Handle a listener that won a race; False when the winner was ordinary work."""
        nudge, self._nudge = self._nudge, None
        if winner is not nudge:
            cancel_timer(nudge)
        if winner is nudge and nudge is not None:
            return True
        if winner is self._cancel:
            self.cancelled = True
            return True
        if winner is self._operator:
            # Not asked for (NeedsAttention yields the listener itself): drop it, keep listening.
            self.operator_answered()
            return True
        return False

    def operator_retry(self) -> Any:
        """The task to yield while NeedsAttention; call ``operator_answered`` once it fired."""
        return self._operator

    def operator_answered(self) -> None:
        """Arm a fresh listener, so that repeats of the signal are absorbed, not parked, and a
        nudge to race beside it (see the module's docstring)."""
        self._operator = self._context.wait_for_external_event(RETRY_EVENT)
        self._nudge = start_timer(self._context, 0).task
