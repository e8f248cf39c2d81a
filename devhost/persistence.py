"""Persistence: checkpoints instance state in the store, and wakes whoever waits on a change."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from devhost.clock import Clock
from devhost.decisions import joined, played_json_of
from devhost.instance import InstanceState
from devhost.store import InstanceStore

log = logging.getLogger("devhost")

SAVE_ATTEMPTS = 6
RETRY_LATER_SECONDS = 1.0
# While work waits to run, a deferred checkpoint may wait this many times that wait longer
# (the episodes it would otherwise write one by one each wait about that long), up to a cap.
BACKLOG_STRETCH = 4.0
MAX_DEFERRAL_SECONDS = 5.0


class Persistence:
    """Checkpoints with retries, keeps each instance's replay payload prefix, and signals changes.

    ``save`` writes at once. ``defer`` (used by episodes that only scheduled activities and
    timers) lets a checkpoint wait up to ``checkpoint_delay`` seconds, so several episodes of a
    quick saga share one write; the work they scheduled runs meanwhile, as the Azure Storage
    provider sends an episode's messages before it commits the history. A crash loses what was
    not yet written, and the instance resumes from its last checkpoint, running again the
    activities it had scheduled since: the duplicate deliveries the app must tolerate anyway.
    Readers of status see only what was written (``published``), as on Azure, where status comes
    from the checkpointed Instances table.

    Under load the wait stretches with ``backlog()``, the seconds work now waits to run
    (see ``deferral``): otherwise a saga slowed by the backlog gets a checkpoint per episode, and
    the extra writes slow everything further (measured at 30 orders/s on 2 cores: six or seven
    writes per order instead of two).
    """

    def __init__(
        self,
        store: InstanceStore,
        clock: Clock,
        checkpoint_delay: float = 0.0,
        backlog: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.store = store
        self._clock = clock
        self.checkpoint_delay = checkpoint_delay
        self._backlog = backlog
        # Per instance: the JSON of the history events the SDK acts on, ready to be sent again.
        self._played_json: dict[str, str] = {}
        self._changed = asyncio.Event()
        # Per-instance wake-ups, so many status waiters do not all wake at every change.
        self._instance_changed: dict[str, asyncio.Event] = {}
        # Per instance: history events appended since its last checkpoint, and whether the
        # history was replaced since (then the whole history is written).
        self._unsaved: dict[str, list[dict[str, Any]]] = {}
        self._reset: set[str] = set()
        self._writing: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._due: dict[str, asyncio.TimerHandle] = {}
        self._latest: dict[str, InstanceState] = {}  # the live state a due write takes
        self._flushes: set[asyncio.Task[None]] = set()
        # Each instance as of its last checkpoint: what status queries answer.
        self.published: dict[str, InstanceState] = {}

    # ----------------------------------------------------------------- replay payload cache

    def played_json(self, state: InstanceState) -> str:
        played = self._played_json.get(state.instance_id)
        if played is None:
            played = self._played_json[state.instance_id] = played_json_of(state.history)
        return played

    def append_played(self, state: InstanceState, new_events: list[dict[str, Any]]) -> None:
        self._played_json[state.instance_id] = joined(self.played_json(state), new_events)

    def forget_played(self, instance_id: str) -> None:
        self._played_json.pop(instance_id, None)

    # ----------------------------------------------------------------- checkpoints

    def loaded(self, states: list[InstanceState]) -> None:
        """``states`` came from the store: they are checkpoints already."""
        for state in states:
            self.published[state.instance_id] = _snapshot(state)

    @property
    def writing(self) -> bool:
        """A checkpoint is waiting to be written, or being written."""
        return bool(self._unsaved or self._reset or self._flushes)

    async def save(
        self, state: InstanceState, new_events: list[dict[str, Any]], history_reset: bool = False
    ) -> None:
        """Write ``state`` now, with ``new_events`` (just appended to its history) and anything
        deferred before them."""
        self._note(state, new_events, history_reset)
        await self._write(state)

    async def settled(self, instance_id: str) -> None:
        """Wait for a write of this instance that is under way, if any, to finish."""
        if instance_id in self._writing:
            async with self._writing[instance_id]:
                pass

    def defer(self, state: InstanceState, new_events: list[dict[str, Any]]) -> None:
        """Write ``state`` within ``deferral()`` seconds (at once when that is 0)."""
        instance_id = state.instance_id
        self._note(state, new_events, False)
        if instance_id not in self._due:
            loop = asyncio.get_running_loop()
            self._due[instance_id] = loop.call_later(self.deferral(), self._flush, instance_id)

    def deferral(self) -> float:
        """How long a checkpoint deferred now may wait: ``checkpoint_delay``, plus
        ``BACKLOG_STRETCH`` times the current backlog, at most ``MAX_DEFERRAL_SECONDS``
        (or ``checkpoint_delay`` itself, when that is longer)."""
        stretched = self.checkpoint_delay + BACKLOG_STRETCH * self._backlog()
        return min(stretched, max(self.checkpoint_delay, MAX_DEFERRAL_SECONDS))

    async def delete(self, instance_id: str) -> None:
        """Remove the instance from the store, and forget what was waiting to be written."""
        self._cancel_due(instance_id)
        async with self._writing[instance_id]:
            await self.store.delete(instance_id)
            self.forget(instance_id)
        self._writing.pop(instance_id, None)

    def forget(self, instance_id: str) -> None:
        """The instance is gone from the store: drop what was waiting to be written."""
        self._cancel_due(instance_id)
        self._unsaved.pop(instance_id, None)
        self._reset.discard(instance_id)
        self._latest.pop(instance_id, None)
        self.published.pop(instance_id, None)
        self.forget_played(instance_id)

    async def close(self) -> None:
        """Stop writing, as a crash would: what was deferred is not written."""
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()
        for task in list(self._flushes):
            task.cancel()
        await asyncio.gather(*self._flushes, return_exceptions=True)

    def _note(self, state: InstanceState, new_events: list[dict[str, Any]], reset: bool) -> None:
        instance_id = state.instance_id
        self._latest[instance_id] = state
        if reset:
            self._reset.add(instance_id)
            self._unsaved[instance_id] = []
        else:
            self._unsaved.setdefault(instance_id, []).extend(new_events)

    def _cancel_due(self, instance_id: str) -> None:
        handle = self._due.pop(instance_id, None)
        if handle is not None:
            handle.cancel()

    def _flush(self, instance_id: str) -> None:
        self._due.pop(instance_id, None)
        state = self._latest.get(instance_id)
        if state is None:
            return
        task = asyncio.get_running_loop().create_task(self._flush_now(state))
        self._flushes.add(task)
        task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._flushes.discard(task)
        self.signal_change()  # whoever waits for the host to be idle looks again

    async def _flush_now(self, state: InstanceState) -> None:
        try:
            await self._write(state)
        except Exception:
            log.error("checkpoint of %s failed; trying again", state.instance_id, exc_info=True)
            if state.instance_id not in self._due:
                loop = asyncio.get_running_loop()
                self._due[state.instance_id] = loop.call_later(
                    RETRY_LATER_SECONDS, self._flush, state.instance_id
                )

    async def _write(self, state: InstanceState) -> None:
        instance_id = state.instance_id
        self._cancel_due(instance_id)
        async with self._writing[instance_id]:
            if instance_id not in self._unsaved:
                return  # a write that held the lock before this one took these changes too
            # Taken together, before any await: the snapshot and its events agree.
            events = self._unsaved.pop(instance_id)
            reset = instance_id in self._reset
            self._reset.discard(instance_id)
            state.last_updated_time = self._clock.now()
            snapshot = _snapshot(state)
            try:
                await self._store_save(snapshot, list(snapshot.history) if reset else events, reset)
            except BaseException:
                # Still to be written, before anything noted since.
                self._unsaved[instance_id] = events + self._unsaved.get(instance_id, [])
                if reset:
                    self._reset.add(instance_id)
                raise
        self.published[instance_id] = snapshot
        changed = self._instance_changed.pop(instance_id, None)
        if changed is not None:
            changed.set()
        self.signal_change()

    async def _store_save(
        self, snapshot: InstanceState, events: list[dict[str, Any]], reset: bool
    ) -> None:
        for attempt in range(SAVE_ATTEMPTS):
            try:
                await self.store.save(snapshot, events, history_reset=reset)
                return
            except Exception:
                # A storage hiccup must not strand the instance: the state in memory is ahead
                # of the store until a save succeeds, so retry before giving up.
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
                log.warning("saving %s failed; retrying", snapshot.instance_id, exc_info=True)
                await asyncio.sleep(0.05 * 2**attempt)

    # ----------------------------------------------------------------- change signals

    def signal_change(self) -> None:
        """Wake every waiter; each re-checks its condition and waits on a fresh event."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def next_change(self) -> None:
        await self._changed.wait()

    async def instance_change(self, instance_id: str) -> None:
        changed = self._instance_changed.get(instance_id)
        if changed is None:
            changed = self._instance_changed[instance_id] = asyncio.Event()
        await changed.wait()


def _snapshot(state: InstanceState) -> InstanceState:
    """A copy that later changes to ``state`` leave alone (events and tasks are not changed in
    place once recorded, so the lists are copied, not their items)."""
    snapshot = copy.copy(state)
    snapshot.history = list(state.history)
    snapshot.inbox = list(state.inbox)
    snapshot.pending = dict(state.pending)
    return snapshot
