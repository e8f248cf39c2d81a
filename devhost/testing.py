"""The test API: run an app's task hub in-process on a background loop, with virtual time."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from devhost.activities import ActivityRunner
from devhost.app_loader import FunctionIndex, load_app
from devhost.clock import Clock, VirtualClock, WallClock
from devhost.config import HostConfig, load_local_settings
from devhost.episode import InProcessEpisodes
from devhost.faults import FaultPlan
from devhost.http.status import parse_json_text
from devhost.instance import InstanceState
from devhost.invocation import ClientBinding
from devhost.runtime import TaskHub
from devhost.schedules import ScheduleRunner
from devhost.store import InstanceStore
from devhost.store.memory import MemoryStore

T = TypeVar("T")

log = logging.getLogger("devhost")

GiveUp = Callable[[InstanceState], str | None]
"""A ``wait_for`` check: a reason to stop waiting for this state, or None to go on waiting."""


class WaitAbandoned(AssertionError):
    """``DevHost.wait_for`` stopped early: what it waits for can no longer happen.

    Either the instance ended (Failed, Terminated, ...) in a status the wait did not ask for,
    or the wait's ``give_up`` check returned a reason while the host was idle. ``state`` is the
    instance's state at that moment and ``reason`` why; the message names the instance, its
    runtime status, its custom status and (once it ended) its output. An AssertionError, so
    that pytest reports it as a failed expectation.
    """

    def __init__(self, wanted: str, state: InstanceState, reason: str) -> None:
        self.state = state
        self.reason = reason
        super().__init__(_describe_wait(state.instance_id, wanted, state, f"gave up: {reason}"))


def when_custom_status(field: str, *values: Any) -> GiveUp:
    """A ``give_up`` for ``wait_for``: stop waiting once the instance's custom status is a JSON
    object whose ``field`` holds one of ``values``. For a saga that parks for an operator::

        host.wait_for(order_id, "Completed", give_up=when_custom_status("status", "NeedsAttention"))

    Any other check is a function of the ``InstanceState`` returning a reason or None, e.g.
    ``give_up=lambda state: "stuck" if state.runtime_status == "Suspended" else None``.
    """
    if not values:
        raise ValueError("when_custom_status needs at least one value to give up on")

    def check(state: InstanceState) -> str | None:
        status = parse_json_text(state.custom_status)
        if isinstance(status, dict) and field in status and status[field] in values:
            return f"its custom status has {field} = {json.dumps(status[field])}"
        return None

    return check


def _describe_wait(instance_id: str, wanted: str, state: InstanceState | None, why: str) -> str:
    """The message of a wait that failed: what it waited for, why it stopped, and the
    instance's runtime status, custom status and (once it ended) output."""
    lines = [f"waiting for instance {instance_id!r} to be {wanted}: {why}"]
    if state is None:
        lines.append("  no instance has this id")
        return "\n".join(lines)
    lines.append(f"  orchestrator: {state.name}")
    lines.append(f"  runtime status: {state.runtime_status}")
    lines.append(f"  custom status: {state.custom_status}")
    if state.is_terminal or state.output is not None:
        lines.append(f"  output: {state.output}")
    return "\n".join(lines)


class DevHost:
    """An app under test. Use as a context manager::

        with DevHost("path/to/app") as host:
            instance_id = host.start("my_orchestrator", {"x": 1})
            state = host.wait_for_completion(instance_id)

    Time is virtual by default: timers fire only when ``advance`` moves the clock, or when
    ``wait_for_completion(..., skip_time=True)`` finds nothing else to do.

    A durable client input works on every trigger, as with ``python -m devhost``: its client
    calls the durable HTTP API, so the first timer or activity function that declares one
    starts serving it on a free port (unless ``serve_http`` already does).
    """

    def __init__(
        self,
        app_path: str | Path,
        store: InstanceStore | None = None,
        clock: Clock | None = None,
        config: HostConfig | None = None,
        replay_check: bool = True,
        checkpoint_delay: float = 0.0,
    ) -> None:
        app_file = Path(app_path)
        # As with func: local settings are in the environment before the app is imported.
        load_local_settings(app_file if app_file.is_dir() else app_file.parent)
        self.functions: FunctionIndex = load_app(app_path)
        self.config = config or HostConfig.load(self.functions.app_dir)
        self.store = store or MemoryStore()
        self.clock = clock if clock is not None else VirtualClock()
        self.faults = FaultPlan()
        # Tests run every episode twice to catch clock, random and uuid use in orchestrators.
        self.replay_check = replay_check
        # Seconds an episode's checkpoint may wait (python -m devhost --checkpoint-ms): 0 writes
        # every episode before its work starts, so tests see each step in the store.
        self.checkpoint_delay = checkpoint_delay
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.hub: TaskHub | None = None
        self._http_runner: Any = None
        self._base_url = ""
        self._port = 0
        self._serving = asyncio.Lock()
        # One binding for the host's life: the server outlives restart(), and so does its URL.
        self._client = ClientBinding(serve=self._serve_for_client)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> DevHost:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        self._thread.start()
        self._start_hub()

    def close(self) -> None:
        if self.hub is not None:
            # A timer function still running may be calling the durable HTTP API: let it end
            # before that API and the SDK's shared session close under it.
            self.call(self._stop_schedules())
        if self._http_runner is not None:
            self.call(self._stop_http())
        if self.hub is not None:
            self.call(self._stop_hub(self.hub))
            self.hub = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def serve_http(self, port: int = 0) -> str:
        """Serve the app's HTTP functions and the durable HTTP API on this host's loop (port 0:
        a free port); returns the base URL. ``close()`` stops the server.

        Already serving (a durable client needed it, or an earlier call): port 0 or the same
        port keeps that server; another port moves it there.
        """
        return self.call(self._serve(port))

    async def _serve(self, port: int) -> str:
        from devhost.http.server import durable_client, serve

        async with self._serving:
            if self._http_runner is not None:
                if port in (0, self._port):
                    return self._base_url
                await self._http_runner.cleanup()
                self._http_runner = None
            # The server looks the hub up per request, so it keeps working across restart().
            runner, base_url = await serve(
                lambda: self._hub, self.functions, self.config, "127.0.0.1", port
            )
            self._http_runner, self._base_url = runner, base_url
            self._port = int(base_url.rsplit(":", 1)[1])
            # Timers and activities get the JSON the server hands its HTTP functions.
            self._client.json_text = durable_client(base_url, self.config).json_text
            return base_url

    async def _serve_for_client(self) -> str:
        base_url = await self._serve(0)
        log.info("devhost: serving the durable HTTP API on %s for a durable client", base_url)
        return str(self._client.json_text)

    async def _stop_http(self) -> None:
        from azure.durable_functions.models.utils import http_utils

        await self._http_runner.cleanup()
        self._http_runner = None
        # The SDK client's shared session and its lock belong to this loop, which is closing.
        await http_utils._close_session()
        http_utils._session_lock = asyncio.Lock()

    def restart(self) -> None:
        """Simulate a host crash and restart: in-flight work is dropped, only what the store
        saved survives, and the new hub resumes every unfinished instance."""
        if self.hub is not None:
            self.call(self._stop_hub(self.hub))
        self._start_hub()

    def _start_hub(self) -> None:
        async def start() -> TaskHub:
            hub = TaskHub(
                self.functions,
                self.store,
                self.clock,
                self.config,
                self.faults,
                activity_runner=ActivityRunner(self.config.max_concurrent_activities, self._client),
                episode_runner=InProcessEpisodes(self.replay_check),
                checkpoint_delay=self.checkpoint_delay,
            )
            await hub.start()
            # Before any timer runs: a run-on-startup timer's client may call the API at once.
            self.hub = hub
            self._schedules.start()
            return hub

        self._schedules = ScheduleRunner(self.functions.timers, self.clock, client=self._client)
        self.call(start())

    async def _stop_schedules(self) -> None:
        self._schedules.stop()
        await asyncio.wait_for(self._schedules.wait_idle(), 30)

    async def _stop_hub(self, hub: TaskHub) -> None:
        self._schedules.stop()
        await hub.stop()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60) -> T:
        """Run a coroutine on the host's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def _hub(self) -> TaskHub:
        if self.hub is None:
            raise RuntimeError("the host is not running")
        return self.hub

    # ------------------------------------------------------------------ driving instances

    def start(self, orchestrator: str, input: Any = None, instance_id: str | None = None) -> str:
        """Start an orchestration as the SDK client does; ``input`` is any JSON value (the
        client sends its JSON text, which the host stores as a JSON string)."""
        stored = json.dumps(json.dumps(input))
        return self.call(self._hub.start_new(orchestrator, instance_id, stored))

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        self.call(self._hub.raise_event(instance_id, name, json.dumps(data)))

    def terminate(self, instance_id: str, reason: str = "") -> None:
        self.call(self._hub.terminate(instance_id, reason))

    def suspend(self, instance_id: str, reason: str = "") -> None:
        self.call(self._hub.suspend(instance_id, reason))

    def resume(self, instance_id: str, reason: str = "") -> None:
        self.call(self._hub.resume(instance_id, reason))

    def purge(self, instance_id: str) -> bool:
        return self.call(self._hub.purge(instance_id))

    def state(self, instance_id: str) -> InstanceState:
        state = self._hub.get(instance_id)
        if state is None:
            raise KeyError(instance_id)
        return state

    def output(self, instance_id: str) -> Any:
        # Read as the status API reads it: a JSON text as its value, any other text as a string.
        return parse_json_text(self.state(instance_id).output)

    def custom_status(self, instance_id: str) -> Any:
        text = self.state(instance_id).custom_status
        return None if text is None else json.loads(text)

    # ------------------------------------------------------------------ time and waiting

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait until nothing can progress without time passing (timer functions included)."""
        self.call(asyncio.wait_for(self._settle(), timeout), timeout + 5)

    async def _settle(self) -> None:
        # A timer function may start orchestrations, and an episode may not start a timer
        # function, so wait for both until both are still.
        while True:
            await self._hub.wait_idle()
            await self._schedules.wait_idle()
            if self._idle():
                return

    def _idle(self) -> bool:
        return self._hub.is_idle() and not self._schedules.busy

    def advance(self, seconds: float, settle: bool = True) -> None:
        """Move virtual time forward (firing due timers), then wait until idle. With
        ``settle=False`` time moves at once, even while activities are still running (to let a
        timeout beat an activity the test holds back)."""
        if settle:
            self.wait_idle()
        self.call(self._advance(seconds))
        if settle:
            self.wait_idle()

    async def _advance(self, seconds: float) -> None:
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("advance() needs the virtual clock")
        self.clock.advance(seconds)

    def wait_for(
        self,
        instance_id: str,
        *statuses: str,
        timeout: float = 30,
        skip_time: bool = True,
        give_up: GiveUp | None = None,
    ) -> InstanceState:
        """Wait until the instance reaches one of ``statuses`` (default: any final status).

        With the virtual clock and ``skip_time``, whenever the host is idle time jumps to the
        next timer, so a 24-hour timeout takes milliseconds.

        The wait fails fast, with a ``WaitAbandoned`` naming the instance, its runtime and
        custom status and the reason, when what it waits for can no longer happen:

        - the instance ends (Failed, Terminated, Completed...) in a status not among
          ``statuses`` (without ``statuses`` any final status is what the wait returns);
        - ``give_up(state)`` returns a reason (see ``when_custom_status``). It is asked only
          while the host is idle, as ``wait_idle`` means it (no episode, activity or queued
          event in flight, so never mid-way through an activity), and with the virtual clock
          and ``skip_time`` only once no timer is left to jump to either: the instance is then
          idle for good unless someone outside the wait acts.

        Without ``give_up`` an idle instance is waited for until ``timeout``: another thread
        may still raise an event, release an activity or advance the clock. The TimeoutError
        then says the same as a WaitAbandoned, and whether the host sat idle.
        """

        def reached(state: InstanceState) -> bool:
            return state.runtime_status in statuses if statuses else state.is_terminal

        wanted = " or ".join(statuses) if statuses else "in a final status"
        wait = self._wait_for(instance_id, reached, wanted, skip_time, give_up, timeout)
        return self.call(wait, timeout + 5)

    wait_for_completion = wait_for

    async def _wait_for(
        self,
        instance_id: str,
        reached: Callable[[InstanceState], bool],
        wanted: str,
        skip_time: bool,
        give_up: GiveUp | None,
        timeout: float,
    ) -> InstanceState:
        hub = self._hub
        clock = self.clock if skip_time and isinstance(self.clock, VirtualClock) else None
        idle_since: float | None = None  # since when the host has sat idle (monotonic)
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                while True:
                    state = hub.get(instance_id)
                    if state is not None and reached(state):
                        return state
                    if state is not None and state.is_terminal:
                        raise WaitAbandoned(wanted, state, f"it ended {state.runtime_status}")
                    if not self._idle():
                        idle_since = None
                    else:
                        # Only a durable timer can move an instance on; timer functions'
                        # occurrences fire on the way but would recur forever.
                        if clock is not None and (due := clock.next_due(schedules=False)):
                            clock.advance_to(due)
                            continue
                        if idle_since is None:
                            idle_since = time.monotonic()
                        if give_up is not None and state is not None:
                            reason = give_up(state)
                            if reason:
                                raise WaitAbandoned(wanted, state, reason)
                    try:
                        await asyncio.wait_for(hub.next_change(), 1.0)
                    except TimeoutError:
                        continue
        except TimeoutError:
            if not deadline.expired():
                raise  # from give_up itself
            state = hub.get(instance_id)
            why = f"not reached in {timeout:g} s"
            if idle_since is not None and self._idle():
                idle = time.monotonic() - idle_since
                if clock is not None:
                    why += (
                        f"; the host sat idle for the last {idle:.1f} s with no timer left, so "
                        "only an event, advance() or another thread could move it on (pass "
                        "give_up= to fail fast)"
                    )
                else:
                    why += f"; the host sat idle for the last {idle:.1f} s"
            raise TimeoutError(_describe_wait(instance_id, wanted, state, why)) from None


__all__ = [
    "DevHost",
    "FaultPlan",
    "GiveUp",
    "VirtualClock",
    "WaitAbandoned",
    "WallClock",
    "when_custom_status",
]
