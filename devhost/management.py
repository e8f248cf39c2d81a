"""Management operations on a task hub: start, raise events, terminate, suspend, resume, purge."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from devhost.history import EventType, make_event
from devhost.instance import PENDING, InstanceState

if TYPE_CHECKING:
    from devhost.app_loader import FunctionIndex
    from devhost.clock import Clock
    from devhost.config import HostConfig
    from devhost.persistence import Persistence

log = logging.getLogger("devhost")


class TaskHubError(Exception):
    """Base of the errors the management API maps to HTTP statuses."""


class InstanceNotFound(TaskHubError):
    """No instance with that id."""


class InstanceNotRunning(TaskHubError):
    """The instance has already finished."""


class InstanceAlreadyExists(TaskHubError):
    """An instance with that id exists and has not finished."""


class UnknownOrchestrator(TaskHubError):
    """The app defines no orchestrator with that name."""


class ManagementOperations:
    """What clients ask of instances. Mixed into ``TaskHub``, which provides the state below."""

    functions: FunctionIndex
    clock: Clock
    config: HostConfig
    persistence: Persistence
    _instances: dict[str, InstanceState]
    _locks: dict[str, asyncio.Lock]

    # Provided by TaskHub.
    def _kick(self, instance_id: str) -> None:
        raise NotImplementedError

    def _finish(self, state: InstanceState) -> None:
        raise NotImplementedError

    def is_idle(self) -> bool:
        raise NotImplementedError

    def _execution_started(self, state: InstanceState, input_text: str | None) -> dict[str, Any]:
        raise NotImplementedError

    # ----------------------------------------------------------------- queries

    def get(self, instance_id: str) -> InstanceState | None:
        return self._instances.get(instance_id)

    def instances(self) -> Iterable[InstanceState]:
        return self._instances.values()

    # ----------------------------------------------------------------- commands

    async def start_new(
        self,
        name: str,
        instance_id: str | None = None,
        input_text: str | None = None,
        parent: tuple[str, int] | None = None,
    ) -> str:
        """Create an instance (its first episode runs asynchronously); returns its id."""
        if name not in self.functions.orchestrators:
            raise UnknownOrchestrator(
                f"The function '{name}' doesn't exist, is disabled, "
                "or is not an orchestrator function."
            )
        instance_id = instance_id or uuid.uuid4().hex
        previous = self._instances.get(instance_id)
        replaceable = self.config.replaces_running_instances and parent is None
        if previous is not None and not previous.is_terminal and not replaceable:
            raise InstanceAlreadyExists(
                f"An Orchestration instance with the status {previous.runtime_status} "
                f"already exists."
            )
        now = self.clock.now()
        state = InstanceState(
            instance_id=instance_id,
            name=name,
            input=input_text,
            created_time=now,
            last_updated_time=now,
            runtime_status=PENDING,
            execution_id=uuid.uuid4().hex,
            parent_instance_id=parent[0] if parent else None,
            parent_task_id=parent[1] if parent else None,
        )
        state.inbox.append(self._execution_started(state, input_text))
        if previous is not None and not previous.is_terminal:
            # AnyState: the running instance is replaced; its outstanding work belongs to the
            # old execution id, so whatever it still delivers is dropped.
            self._finish(previous)
            log.info("orchestrator %s (%s): replaced by a new start", previous.name, instance_id)
        # Claimed before the first await, so concurrent starts of one id cannot both succeed.
        self._instances[instance_id] = state
        self.persistence.forget_played(instance_id)
        try:
            await self.persistence.save(state, [], history_reset=previous is not None)
        except BaseException:
            if previous is None:
                self._instances.pop(instance_id, None)
            else:
                self._instances[instance_id] = previous
            raise
        self._kick(instance_id)
        return instance_id

    async def raise_event(self, instance_id: str, name: str, data_text: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state, make_event(EventType.EVENT_RAISED, self.clock.now(), Name=name, Input=data_text)
        )

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state,
            make_event(EventType.EXECUTION_TERMINATED, self.clock.now(), Input=json.dumps(reason)),
        )

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state,
            make_event(EventType.EXECUTION_SUSPENDED, self.clock.now(), Reason=reason or ""),
        )

    async def resume(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state, make_event(EventType.EXECUTION_RESUMED, self.clock.now(), Reason=reason or "")
        )

    async def purge(self, instance_id: str) -> bool:
        """Delete a finished instance and its history; False when there is nothing to purge."""
        state = self._instances.get(instance_id)
        if state is None or not state.is_terminal:
            return False
        async with self._locks[instance_id]:
            await self.persistence.store.delete(instance_id)
            self._instances.pop(instance_id, None)
            self.persistence.forget_played(instance_id)
        return True

    # ----------------------------------------------------------------- waiting

    async def wait_for(
        self,
        instance_id: str,
        predicate: Callable[[InstanceState], bool],
        timeout_seconds: float | None = None,
    ) -> InstanceState:
        """Wait until the instance satisfies ``predicate`` (raises TimeoutError)."""

        async def condition_met() -> InstanceState:
            while True:
                state = self._instances.get(instance_id)
                if state is not None and predicate(state):
                    return state
                await self.persistence.instance_change(instance_id)

        return await asyncio.wait_for(condition_met(), timeout_seconds)

    async def next_change(self) -> None:
        """Return after the next state change anywhere in the hub (or a task finishing)."""
        await self.persistence.next_change()

    async def wait_idle(self, timeout_seconds: float | None = None) -> None:
        async def idle() -> None:
            while not self.is_idle():
                await self.persistence.next_change()

        await asyncio.wait_for(idle(), timeout_seconds)

    # ----------------------------------------------------------------- helpers

    def _require_running(self, instance_id: str) -> InstanceState:
        state = self._instances.get(instance_id)
        if state is None:
            raise InstanceNotFound(f"No instance with ID '{instance_id}' was found.")
        if state.is_terminal:
            raise InstanceNotRunning(
                f"The instance '{instance_id}' is in the {state.runtime_status} state."
            )
        return state

    async def _append_to_inbox(self, state: InstanceState, event: dict[str, Any]) -> None:
        async with self._locks[state.instance_id]:
            state.inbox.append(event)
            await self.persistence.save(state, [])
        self._kick(state.instance_id)
