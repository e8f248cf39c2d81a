"""In-memory instance store: nothing survives the process; for fast tests."""

from __future__ import annotations

from devhost.instance import InstanceState


class MemoryStore:
    """Keeps serialised copies, so a test that reloads sees only what was saved."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._histories: dict[str, list[dict]] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def load_all(self) -> list[InstanceState]:
        return [
            InstanceState.from_json(text, list(self._histories.get(instance_id, [])))
            for instance_id, text in self._states.items()
        ]

    async def save(
        self, state: InstanceState, new_events: list[dict], history_reset: bool = False
    ) -> None:
        history = self._histories.setdefault(state.instance_id, [])
        if history_reset:
            history.clear()
        history.extend(new_events)
        self._states[state.instance_id] = state.to_json()

    async def delete(self, instance_id: str) -> None:
        self._states.pop(instance_id, None)
        self._histories.pop(instance_id, None)
