"""Persistence: writes instance state through the store, and wakes whoever waits on a change."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from devhost.clock import Clock
from devhost.decisions import joined, played_json_of
from devhost.instance import InstanceState
from devhost.store import InstanceStore

log = logging.getLogger("devhost")

SAVE_ATTEMPTS = 6


class Persistence:
    """Saves with retries, keeps each instance's replay payload prefix, and signals changes."""

    def __init__(self, store: InstanceStore, clock: Clock) -> None:
        self.store = store
        self._clock = clock
        # Per instance: the JSON of the history events the SDK acts on, ready to be sent again.
        self._played_json: dict[str, str] = {}
        self._changed = asyncio.Event()
        # Per-instance wake-ups, so many status waiters do not all wake at every change.
        self._instance_changed: dict[str, asyncio.Event] = {}

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

    # ----------------------------------------------------------------- saving

    async def save(
        self, state: InstanceState, new_events: list[dict[str, Any]], history_reset: bool = False
    ) -> None:
        state.last_updated_time = self._clock.now()
        events = list(state.history) if history_reset else new_events
        for attempt in range(SAVE_ATTEMPTS):
            try:
                await self.store.save(state, events, history_reset=history_reset)
                break
            except Exception:
                # A storage hiccup must not strand the instance: the state in memory is ahead
                # of the store until a save succeeds, so retry before giving up.
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
                log.warning("saving %s failed; retrying", state.instance_id, exc_info=True)
                await asyncio.sleep(0.05 * 2**attempt)
        changed = self._instance_changed.pop(state.instance_id, None)
        if changed is not None:
            changed.set()
        self.signal_change()

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
