"""Deferred checkpoints: quick episodes share one write, status shows only what was written, and a
crash resumes from the last checkpoint, running again what was scheduled after it.

The Azure Storage provider sends an episode's messages before it commits the history
(DurableTask.AzureStorage, AzureStorageOrchestrationService.cs,
CompleteTaskOrchestrationWorkItemAsync: "First, add new messages into the queue... Next, commit
the orchestration history updates"), and status comes from that commit. devhost's deferral keeps
both: work starts before its checkpoint, status reads the checkpoint.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from devhost.app_loader import load_app
from devhost.clock import WallClock
from devhost.history import EventType
from devhost.instance import COMPLETED, RUNNING, InstanceState
from devhost.management import InstanceAlreadyExists
from devhost.persistence import BACKLOG_STRETCH, MAX_DEFERRAL_SECONDS, Persistence
from devhost.runtime import TaskHub
from devhost.store.memory import MemoryStore
from devhost.testing import DevHost
from tests.polling import eventually

APP = Path(__file__).parent / "apps" / "basics"
APP_FILE = str(APP / "function_app.py")
# Longer than any test here runs: a deferred checkpoint is written only when something forces it.
NEVER = 600.0


def app_module() -> Any:
    return next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == APP_FILE)


class RecordingStore(MemoryStore):
    """A memory store that notes each save: (instance id, event types written, status)."""

    def __init__(self) -> None:
        super().__init__()
        self.saves: list[tuple[str, list[int], str]] = []

    async def save(
        self, state: InstanceState, new_events: list[dict], history_reset: bool = False
    ) -> None:
        await super().save(state, new_events, history_reset)
        kinds = [int(event["EventType"]) for event in new_events]
        self.saves.append((state.instance_id, kinds, state.runtime_status))

    def saves_of(self, instance_id: str) -> list[tuple[list[int], str]]:
        return [(kinds, status) for saved, kinds, status in self.saves if saved == instance_id]

    def stored(self, instance_id: str) -> InstanceState:
        return InstanceState.from_json(self._states[instance_id], self._histories[instance_id])


def test_the_episodes_of_a_quick_orchestration_share_checkpoints() -> None:
    """Three activity episodes and the ending: the creation (Pending) and the ending
    (Completed) are written at once; the episodes between, the first's Running included, ride
    along with the ending."""
    store = RecordingStore()
    with DevHost(APP, store=store, checkpoint_delay=NEVER) as host:
        instance_id = host.start("sequence", ["a", "b", "c"])
        host.wait_for(instance_id)
        statuses = [status for _, status in store.saves_of(instance_id)]
        stored = store.stored(instance_id)
        live_history = host.state(instance_id).history
    assert statuses == ["Pending", COMPLETED]
    assert stored.runtime_status == COMPLETED
    assert stored.history == live_history, "every event is written, in order, none twice"


def test_without_a_delay_every_episode_is_written_before_its_work_starts() -> None:
    store = RecordingStore()
    with DevHost(APP, store=store) as host:
        instance_id = host.start("sequence", ["a", "b", "c"])
        host.wait_for(instance_id)
    assert [status for _, status in store.saves_of(instance_id)] == [
        "Pending",
        RUNNING,
        RUNNING,
        RUNNING,
        COMPLETED,
    ]


def test_status_shows_the_checkpoint_not_the_episode_ahead_of_it() -> None:
    """The episode after the touch sets a custom status and waits: until its checkpoint is
    written, status queries still answer the one before (as Azure's Instances table would)."""
    store = RecordingStore()
    with DevHost(APP, store=store, checkpoint_delay=NEVER) as host:
        instance_id = host.start("touches_then_waits", "status")
        _settle_episodes(host, instance_id)
        assert host.custom_status(instance_id) == "touched", "the live state has moved on"
        written = host.hub.checkpointed(instance_id)
        assert written is not None and written.custom_status is None
        assert written.runtime_status == "Pending", "its first episode is not written yet"
        host.raise_event(instance_id, "Continue")
        host.wait_for(instance_id)
        written = host.hub.checkpointed(instance_id)
        assert written is not None and written.runtime_status == COMPLETED
        assert written.custom_status == '"touched"'


def test_a_deferred_checkpoint_is_written_within_the_delay() -> None:
    store = RecordingStore()
    with DevHost(APP, store=store, checkpoint_delay=0.2) as host:
        instance_id = host.start("touches_then_waits", "soon")
        _settle_episodes(host, instance_id)
        host.wait_idle()  # waits for the deferred write too
        assert store.stored(instance_id).custom_status == '"touched"'
        written = host.hub.checkpointed(instance_id)
        assert written is not None and written.custom_status == '"touched"'


def test_a_crash_resumes_from_the_last_checkpoint_and_runs_its_work_again() -> None:
    """The touch was scheduled by the first episode; neither it nor the episode that took its
    result was written when the host died, so the instance starts over from its creation and
    the touch runs again, as a delivery whose result was lost does on Azure."""
    with DevHost(APP, checkpoint_delay=NEVER) as host:
        deliveries = app_module().deliveries
        instance_id = host.start("touches_then_waits", "checkpoint-crash")
        _settle_episodes(host, instance_id)
        assert deliveries["checkpoint-crash"] == 1
        host.restart()
        _settle_episodes(host, instance_id)
        assert deliveries["checkpoint-crash"] == 2
        host.raise_event(instance_id, "Continue")
        host.wait_for(instance_id)
        assert host.output(instance_id) == "checkpoint-crash#2"


def test_the_same_crash_without_a_delay_runs_nothing_again() -> None:
    with DevHost(APP) as host:
        deliveries = app_module().deliveries
        instance_id = host.start("touches_then_waits", "checkpoint-no-delay")
        _settle_episodes(host, instance_id)
        host.restart()
        host.wait_idle()
        host.raise_event(instance_id, "Continue")
        host.wait_for(instance_id)
        assert deliveries["checkpoint-no-delay"] == 1
        assert host.output(instance_id) == "checkpoint-no-delay#1"


def test_starting_another_instance_is_written_before_that_instance_exists() -> None:
    """`parent` starts its last child from a later episode: that episode is written before the
    child's first save, so no crash can leave a child its parent does not know of."""
    store = RecordingStore()
    with DevHost(APP, store=store, checkpoint_delay=NEVER) as host:
        instance_id = host.start("parent")
        host.wait_for(instance_id)
        history = host.state(instance_id).history
    created = [
        event["InstanceId"]
        for event in history
        if event["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED
    ]
    assert len(created) == 3
    order = [saved for saved, _, _ in store.saves]
    for child in created:
        first_child_save = order.index(child)
        parent_saves = [
            index
            for index, (saved, kinds, _) in enumerate(store.saves)
            if saved == instance_id and EventType.SUB_ORCHESTRATION_INSTANCE_CREATED in kinds
        ]
        assert any(index < first_child_save for index in parent_saves), child


def _settle_episodes(host: DevHost, instance_id: str) -> None:
    """Wait until the instance has taken its touch's result and waits for Continue (as the live
    state shows it, not the store)."""
    eventually(
        lambda: host.custom_status(instance_id) == "touched",
        timeout=10,
        what="the touch's result arriving",
        every=0.01,
    )


class SlowStore(MemoryStore):
    """A memory store whose writes take a while, as a Table write does."""

    async def save(
        self, state: InstanceState, new_events: list[dict], history_reset: bool = False
    ) -> None:
        await asyncio.sleep(0.05)
        await super().save(state, new_events, history_reset)


def test_a_start_racing_the_first_ones_creation_is_refused_once_status_shows_it() -> None:
    """Two starts of one id at once: the second is refused only after the first's creation is
    written, so a caller told "already exists" finds the instance with a status query (the
    order API's concurrent duplicates rely on it)."""

    async def scenario() -> tuple[bool, InstanceState | None]:
        hub = TaskHub(load_app(APP), SlowStore(), WallClock())
        await hub.start()
        try:
            first = asyncio.create_task(hub.start_new("two_events", "same"))
            await asyncio.sleep(0)  # the first start is writing its creation
            assert hub.checkpointed("same") is None
            try:
                await hub.start_new("two_events", "same")
            except InstanceAlreadyExists:
                refused = True
            else:
                refused = False
            seen = hub.checkpointed("same")
            await first
            return refused, seen
        finally:
            await hub.stop()

    refused, seen = asyncio.run(scenario())
    assert refused
    assert seen is not None and seen.runtime_status == "Pending"


def test_under_a_backlog_a_deferred_checkpoint_may_wait_longer_up_to_a_cap() -> None:
    """At 30 orders/s on 2 cores, orders slowed by a backlog got a checkpoint per episode (six
    or seven writes instead of two), and the writes deepened the backlog: the wait stretches."""
    backlog = [0.0]
    persistence = Persistence(MemoryStore(), WallClock(), 0.25, lambda: backlog[0])
    assert persistence.deferral() == 0.25
    backlog[0] = 0.5
    assert persistence.deferral() == 0.25 + BACKLOG_STRETCH * 0.5
    backlog[0] = 60.0
    assert persistence.deferral() == MAX_DEFERRAL_SECONDS
    assert Persistence(MemoryStore(), WallClock(), NEVER, lambda: 60.0).deferral() == NEVER


def test_the_hub_stretches_deferrals_by_the_wait_for_a_worker() -> None:
    class Backlogged:
        """An episode runner whose oldest invocation has waited a second for a worker."""

        def oldest_wait(self) -> float:
            return 1.0

    hub = TaskHub(load_app(APP), MemoryStore(), WallClock(), episode_runner=Backlogged(),
                  checkpoint_delay=0.25)  # fmt: skip
    assert hub.persistence.deferral() == 0.25 + BACKLOG_STRETCH * 1.0
