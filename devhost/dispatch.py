"""Dispatch: sets scheduled work going (activities, timers, sub-orchestrations) and turns what
comes back into completion events for the instance that asked for it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from devhost.activities import ActivityInvoker, ActivityOutcome
from devhost.app_loader import FunctionIndex
from devhost.clock import Clock, TimerHandle
from devhost.executor import resolve_name
from devhost.faults import FaultPlan, invoke_with_faults
from devhost.history import EventType, make_event
from devhost.http.status import parse_json_text
from devhost.instance import COMPLETED, InstanceState, PendingWork
from devhost.management import TaskHubError

if TYPE_CHECKING:
    from devhost.runtime import TaskHub

log = logging.getLogger("devhost")


class Dispatcher:
    """Runs what an instance scheduled and enqueues the completions back on the hub."""

    def __init__(
        self,
        hub: TaskHub,
        functions: FunctionIndex,
        clock: Clock,
        faults: FaultPlan,
        runner: ActivityInvoker,
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self._hub = hub
        self._functions = functions
        self._clock = clock
        self._faults = faults
        self.runner = runner
        self._spawn = spawn
        self._timers: dict[tuple[str, int], TimerHandle] = {}
        self.closed = False

    def dispatch(self, state: InstanceState, work: PendingWork) -> None:
        if work.kind == "activity":
            self._spawn(self._deliver_activity(state.instance_id, state.execution_id, work))
        elif work.kind == "timer":
            self._arm_timer(state, work)
        elif work.kind == "suborchestration":
            self._spawn(self._ensure_child(state, work))

    def close(self) -> None:
        self.closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    # ----------------------------------------------------------------- timers

    def cancel_timer(self, instance_id: str, task_id: int) -> None:
        handle = self._timers.pop((instance_id, task_id), None)
        if handle is not None:
            handle.cancel()

    def forget_timer(self, instance_id: str, task_id: int) -> None:
        """The timer fired (or its task completed): its handle is no longer needed."""
        self._timers.pop((instance_id, task_id), None)

    def _arm_timer(self, state: InstanceState, work: PendingWork) -> None:
        fire_at = datetime.strptime(work.fire_at or "", "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=self._clock.now().tzinfo
        )
        instance_id, execution_id = state.instance_id, state.execution_id

        def fire() -> None:
            self._timers.pop((instance_id, work.task_id), None)
            if self.closed:
                return
            current = self._hub.get(instance_id)
            if current is None or current.execution_id != execution_id:
                return
            event = make_event(
                EventType.TIMER_FIRED, self._clock.now(), TimerId=work.task_id, FireAt=work.fire_at
            )
            self._hub.enqueue(current, event)

        self._timers[(instance_id, work.task_id)] = self._clock.call_at(fire_at, fire)

    # ----------------------------------------------------------------- sub-orchestrations

    def notify_parent(self, child: InstanceState) -> None:
        if not child.parent_instance_id or child.parent_task_id is None:
            return
        parent = self._hub.get(child.parent_instance_id)
        if parent is None or parent.is_terminal:
            return
        work = parent.pending.get(str(child.parent_task_id))
        if work is None or work.child_instance_id != child.instance_id:
            return
        now = self._clock.now()
        if child.runtime_status == COMPLETED:
            event = make_event(
                EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
                now,
                TaskScheduledId=child.parent_task_id,
                Result=child.output,
            )
        else:
            reason = parse_json_text(child.output) if child.output else child.runtime_status
            event = make_event(
                EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
                now,
                TaskScheduledId=child.parent_task_id,
                Reason=str(reason),
                Details=f"Sub-orchestration '{child.instance_id}' {child.runtime_status}",
            )
        self._hub.enqueue(parent, event)

    async def _ensure_child(self, parent: InstanceState, work: PendingWork) -> None:
        """Start a sub-orchestration (idempotent: after a crash it may already exist)."""
        child_id = work.child_instance_id or ""
        child = self._hub.get(child_id)
        if (
            child is not None
            and child.parent_instance_id == parent.instance_id
            and (child.parent_task_id == work.task_id)
        ):
            if child.is_terminal:
                self.notify_parent(child)
            return
        try:
            await self._hub.start_new(
                work.name,
                child_id,
                # The SDK sends the input's JSON text, which the host keeps as a JSON string.
                None if work.input is None else json.dumps(work.input),
                (parent.instance_id, work.task_id),
                version=work.version,
            )
        except TaskHubError as error:
            self._hub.enqueue(
                parent,
                make_event(
                    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
                    self._clock.now(),
                    TaskScheduledId=work.task_id,
                    Reason=str(error),
                    Details=type(error).__name__,
                ),
            )

    # ----------------------------------------------------------------- activities

    async def _deliver_activity(
        self, instance_id: str, execution_id: str, work: PendingWork
    ) -> None:
        registered = resolve_name(self._functions.activities, work.name)
        function = self._functions.activities.get(registered) if registered else None
        if function is None:
            outcome = ActivityOutcome(
                failed=True,
                # TaskNonexistentActivityShim (extension 3.x): scheduled before a redeployment
                # that removed the function.
                reason=(
                    f"Activity function '{work.name}' failed: Activity function '{work.name}' "
                    "does not exist."
                ),
                details="",
            )
        else:

            def injected() -> ActivityOutcome:
                return ActivityOutcome(
                    failed=True,
                    reason=f"Activity function '{work.name}' failed:  InjectedFault: devhost fault",
                    details="",
                )

            outcome = await invoke_with_faults(
                self._faults,
                work.name,
                lambda note: self._invoke(instance_id, work, function, note),
                injected,
            )
        state = self._hub.get(instance_id)
        if state is None or state.execution_id != execution_id:
            return
        if outcome.failed:
            event = make_event(
                EventType.TASK_FAILED,
                self._clock.now(),
                TaskScheduledId=work.task_id,
                Reason=outcome.reason,
                Details=outcome.details,
            )
        else:
            event = make_event(
                EventType.TASK_COMPLETED,
                self._clock.now(),
                TaskScheduledId=work.task_id,
                Result=outcome.result,
            )
        self._hub.enqueue(state, event)

    async def _invoke(
        self, instance_id: str, work: PendingWork, function: Any, note: str
    ) -> ActivityOutcome:
        began = time.perf_counter()
        outcome = await self.runner.run(work.name, function, work.input)
        log.info(
            "activity %s (%s#%d)%s: %s in %.1f ms",
            work.name,
            instance_id,
            work.task_id,
            f" [{note}]" if note else "",
            "failed" if outcome.failed else "succeeded",
            (time.perf_counter() - began) * 1000,
        )
        return outcome
