"""Where devhost keeps instances: one interface, an in-memory store for tests and a Table store."""

from __future__ import annotations

from typing import Protocol

from devhost.instance import InstanceState


class InstanceStore(Protocol):
    """Durable home of instances. The runtime keeps the live copy in memory and writes through.

    ``save`` is called after every state change with the history events appended since the last
    save (``new_events`` are exactly ``state.history[-len(new_events):]``); ``history_reset`` is
    true when the history was replaced (continue-as-new, restart of a finished id), so earlier
    rows must no longer be returned. A save is all-or-nothing from the reader's point of view:
    ``load_all`` after a crash returns each instance as of its last completed save. A store
    has one writer (the host process), and saves of one instance never overlap.
    """

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def load_all(self) -> list[InstanceState]: ...

    async def save(
        self, state: InstanceState, new_events: list[dict], history_reset: bool = False
    ) -> None: ...

    async def delete(self, instance_id: str) -> None: ...
