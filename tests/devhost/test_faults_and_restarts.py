"""devhost injects the faults Azure can produce, and resumes instances after a restart."""

import sys
from pathlib import Path

from devhost.history import EventType
from devhost.instance import COMPLETED, RUNNING
from devhost.store.memory import MemoryStore
from devhost.testing import DevHost

APP_FILE = str(Path(__file__).parent / "apps" / "basics" / "function_app.py")


def app_module():
    return next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == APP_FILE)


def completions(host: DevHost, instance_id: str) -> list[dict]:
    return [
        e for e in host.state(instance_id).history if e["EventType"] == EventType.TASK_COMPLETED
    ]


class TestFaultInjection:
    def test_duplicate_delivery_runs_the_activity_twice_records_once(self, host: DevHost) -> None:
        """The activity executes twice; the orchestrator sees one result, the first."""
        host.faults.duplicate_delivery("touch")
        instance_id = host.start("call_one", {"activity": "touch", "key": "dup"})
        host.wait_for(instance_id)
        host.wait_idle()
        assert app_module().deliveries["dup"] == 2
        assert host.output(instance_id) == "dup#1"
        assert [e["TaskScheduledId"] for e in completions(host, instance_id)] == [0, 1]

    def test_concurrent_duplicate_deliveries_overlap(self, host: DevHost) -> None:
        """Both deliveries run at once: the activity's two-party barrier only opens then."""
        host.faults.duplicate_delivery("meet", concurrent=True)
        instance_id = host.start("call_one", {"activity": "meet", "key": "together"})
        state = host.wait_for(instance_id)
        assert state.runtime_status == COMPLETED
        assert host.output(instance_id) == "together"

    def test_crash_after_commit_redelivers_and_records_the_second_run(self, host: DevHost) -> None:
        """The first run's effect happened but its result was lost; the redelivery counts."""
        host.faults.crash_after_commit("touch")
        instance_id = host.start("call_one", {"activity": "touch", "key": "crash"})
        host.wait_for(instance_id)
        assert app_module().deliveries["crash"] == 2
        assert host.output(instance_id) == "crash#2"

    def test_faults_for_every_activity_with_no_limit(self, host: DevHost) -> None:
        """`*` with times=None disturbs every invocation of every activity."""
        host.faults.duplicate_delivery("*", times=None)
        instance_id = host.start("call_one", {"activity": "touch", "key": "all"})
        host.wait_for(instance_id)
        host.wait_idle()
        assert app_module().deliveries["all"] == 2
        assert host.output(instance_id) == "all#1"


class TestRestart:
    def test_an_instance_waiting_for_an_event_survives_a_restart(self, host: DevHost) -> None:
        """Only the saved state survives; the event raised after restart completes it."""
        instance_id = host.start("two_events")
        host.raise_event(instance_id, "First", 1)
        host.wait_idle()
        host.restart()
        host.raise_event(instance_id, "Second", 2)
        host.wait_for(instance_id, skip_time=False)
        assert host.output(instance_id) == [1, 2]

    def test_a_running_activity_is_delivered_again_after_a_restart(self, host: DevHost) -> None:
        """The host died while the activity ran: the restarted host runs it again."""
        module = app_module()
        module.gate.clear()
        module.blocked_started.clear()
        instance_id = host.start("call_one", {"activity": "blocked", "key": "restart"})
        assert module.blocked_started.wait(timeout=10)
        host.restart()
        module.gate.set()
        state = host.wait_for(instance_id, skip_time=False)
        assert state.runtime_status == COMPLETED
        assert module.deliveries["restart"] == 2
        assert [e["TaskScheduledId"] for e in completions(host, instance_id)] == [0, 1]

    def test_timers_are_rearmed_after_a_restart(self, host: DevHost) -> None:
        """A durable timer set before the restart still fires after it."""
        instance_id = host.start("sleeper", 60)
        host.wait_idle()
        host.restart()
        host.advance(59)
        assert host.state(instance_id).runtime_status == RUNNING
        host.advance(1)
        assert host.state(instance_id).runtime_status == COMPLETED


class FlakyStore(MemoryStore):
    """Fails the first few saves, as a storage hiccup would."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def save(self, state, new_events, history_reset=False):  # type: ignore[no-untyped-def]
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("storage hiccup")
        await super().save(state, new_events, history_reset)


def test_a_storage_hiccup_is_retried_and_the_instance_completes() -> None:
    """Saves that fail a few times are retried; the orchestration still completes."""
    with DevHost(APP_FILE, store=FlakyStore(failures=3)) as host:
        instance_id = host.start("sequence", ["a", "b"])
        assert host.wait_for(instance_id).runtime_status == COMPLETED
        assert host.output(instance_id) == ["Hello a", "Hello b"]
