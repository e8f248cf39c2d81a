"""Management operations on a task hub, with the extension's checks: start, restart, raise
events, terminate, suspend, resume, rewind and purge."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from devhost.executor import resolve_name
from devhost.history import EventType, make_event
from devhost.instance import FAILED, PENDING, SUSPENDED, InstanceState
from devhost.limits import unknown_function_message
from devhost.rewind import rewind_history

if TYPE_CHECKING:
    from devhost.app_loader import FunctionIndex
    from devhost.clock import Clock
    from devhost.config import HostConfig
    from devhost.dispatch import Dispatcher
    from devhost.persistence import Persistence

log = logging.getLogger("devhost")

# DurableClient.MaxInstanceIdLength, counted in UTF-16 code units like a .NET string.
MAX_INSTANCE_ID_LENGTH = 256


class TaskHubError(Exception):
    """Base of the errors the management API maps to HTTP statuses."""


class InstanceNotFound(TaskHubError):
    """No instance with that id."""


class InstanceNotRunning(TaskHubError):
    """The instance has already finished."""


class InstanceAlreadyExists(TaskHubError):
    """An instance with that id exists and its status is not one a new start may replace."""


class UnknownOrchestrator(TaskHubError):
    """The app defines no orchestrator with that name."""


class InvalidInstanceId(TaskHubError):
    """The client asked for an instance id the extension refuses."""


class WrongInstanceState(TaskHubError):
    """The operation is not allowed in the instance's current status (the extension throws
    InvalidOperationException, which its HTTP API answers with 500)."""


class ManagementOperations:
    """What clients ask of instances. Mixed into ``TaskHub``, which provides the state below."""

    functions: FunctionIndex
    clock: Clock
    config: HostConfig
    persistence: Persistence
    dispatcher: Dispatcher
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

    def checkpointed(self, instance_id: str) -> InstanceState | None:
        """The instance as of its last checkpoint: what status queries see, as on Azure."""
        return self.persistence.published.get(instance_id)

    def checkpointed_instances(self) -> Iterable[InstanceState]:
        return self.persistence.published.values()

    # ----------------------------------------------------------------- commands

    async def start_new(
        self,
        name: str,
        instance_id: str | None = None,
        input_text: str | None = None,
        parent: tuple[str, int] | None = None,
        version: str | None = None,
    ) -> str:
        """Create an instance (its first episode runs asynchronously); returns its id. Its
        version is ``version`` when given, else host.json's defaultVersion (None without one).

        A client start (no ``parent``) is checked as DurableClient.StartNewAsync checks it: the
        function first, then the id. The instance keeps ``name`` as the caller spelled it, as
        its ExecutionStarted event does on Azure.
        """
        if resolve_name(self.functions.orchestrators, name) is None:
            raise UnknownOrchestrator(
                unknown_function_message(self.functions.orchestrators, name, "orchestrator")
            )
        if parent is None and instance_id:
            check_instance_id(instance_id)
        instance_id = instance_id or uuid.uuid4().hex
        previous = self._instances.get(instance_id)
        replaceable = self.config.replaces_running_instances and parent is None
        if previous is not None and not previous.is_terminal and not replaceable:
            # A start racing the first one's creation write answers once that write is done:
            # on Azure the dedupe check reads the instance's row, so what it refuses a status
            # query can already see.
            await self.persistence.settled(instance_id)
            previous = self._instances.get(instance_id)
            if previous is not None and not previous.is_terminal:
                # DurableTask.AzureStorage's dedupe check (ThrowExceptionOnInvalidDedupeStatus).
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
            version=version if version is not None else self.config.default_version,
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

    async def restart(self, instance_id: str, with_new_instance_id: bool = True) -> str:
        """Start the instance's orchestrator again with its input (DurableClient.RestartAsync):
        under a new id, or under the same id, which the dedupe rules may refuse."""
        state = self._instances.get(instance_id)
        if state is None:
            raise InstanceNotFound(
                f"An orchestrastion with the instanceId {instance_id} was not found."
            )
        new_id = None if with_new_instance_id else state.instance_id
        return await self.start_new(state.name, new_id, state.input)

    async def raise_event(self, instance_id: str, name: str, data_text: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state, make_event(EventType.EVENT_RAISED, self.clock.now(), Name=name, Input=data_text)
        )

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        await self._append_to_inbox(
            state,
            make_event(EventType.EXECUTION_TERMINATED, self.clock.now(), Input=reason),
        )

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        if state.runtime_status == SUSPENDED:
            raise WrongInstanceState(
                f"Cannot suspend the orchestration instance {instance_id} because instance is "
                f"in the {state.runtime_status} state."
            )
        await self._append_to_inbox(
            state,
            make_event(EventType.EXECUTION_SUSPENDED, self.clock.now(), Reason=reason or ""),
        )

    async def resume(self, instance_id: str, reason: str | None) -> None:
        state = self._require_running(instance_id)
        if state.runtime_status != SUSPENDED:
            raise WrongInstanceState(
                f"Cannot resume the orchestration instance {instance_id} because instance is "
                f"in the {state.runtime_status} state."
            )
        await self._append_to_inbox(
            state, make_event(EventType.EXECUTION_RESUMED, self.clock.now(), Reason=reason or "")
        )

    async def rewind(self, instance_id: str, reason: str | None) -> None:
        """Rewind a failed instance as DurableTask.AzureStorage does (RewindHistoryAsync): its
        failure events become GenericEvents, failed sub-orchestrations are rewound too, and the
        failed tasks run again."""
        state = self._instances.get(instance_id)
        if state is None:
            raise InstanceNotFound(f"No instance with ID '{instance_id}' was found.")
        if state.runtime_status != FAILED:
            raise WrongInstanceState(
                "The rewind operation is only supported on failed orchestration instances."
            )
        await self._rewind(state, reason)

    async def _rewind(self, state: InstanceState, reason: str | None) -> None:
        async with self._locks[state.instance_id]:
            plan = rewind_history(state, self.clock.now(), reason)
            state.runtime_status = PENDING
            state.pending.update({str(work.task_id): work for work in plan.work})
            if plan.wake_up is not None:
                # The instance replays at once (no failed child to wait for).
                state.inbox.append(plan.wake_up)
            self.persistence.forget_played(state.instance_id)
            await self.persistence.save(state, [], history_reset=True)
        log.info(
            "orchestrator %s (%s): rewound; %d failed task(s) run again",
            state.name,
            state.instance_id,
            len(plan.work),
        )
        for child_id in plan.failed_children:
            child = self._instances.get(child_id)
            if child is not None and child.runtime_status == FAILED:
                await self._rewind(child, reason)
        for work in plan.work:
            self.dispatcher.dispatch(state, work)
        if plan.wake_up is not None:
            self._kick(state.instance_id)

    async def purge(self, instance_id: str) -> bool:
        """Delete an instance and its history, whatever its status (Azure Storage checks none);
        False when there is no such instance. Work it still has outstanding is dropped."""
        state = self._instances.get(instance_id)
        if state is None:
            return False
        async with self._locks[instance_id]:
            if not state.is_terminal:
                self._finish(state)
                log.info("orchestrator %s (%s): purged while running", state.name, instance_id)
            await self.persistence.delete(instance_id)
            self._instances.pop(instance_id, None)
        self.persistence.signal_change()
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
                state = self.checkpointed(instance_id)
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


def check_instance_id(instance_id: str) -> None:
    """DurableClient.StartNewAsync's checks. Its ArgumentException has the message and the
    parameter name swapped for two of them, hence the ``instanceId (Parameter ...)`` texts."""
    if instance_id.startswith("@"):
        raise InvalidInstanceId(
            "instanceId (Parameter 'Orchestration instance ids must not start with @.')"
        )
    if any(_is_invalid_character(c) for c in instance_id):
        raise InvalidInstanceId(
            "instanceId (Parameter 'Orchestration instance ids must not contain /, \\, #, ?, "
            "or control characters.')"
        )
    if len(instance_id.encode("utf-16-le")) // 2 > MAX_INSTANCE_ID_LENGTH:
        raise InvalidInstanceId(
            f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters."
        )


def _is_invalid_character(c: str) -> bool:
    # char.IsControl: U+0000..U+001F and U+007F..U+009F.
    return c in "/\\?#" or ord(c) <= 0x1F or 0x7F <= ord(c) <= 0x9F
