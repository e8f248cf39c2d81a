"""Functions in separate worker processes, as the Functions host runs its language workers.

With ``--worker-processes N`` devhost starts N processes (spawned: each starts clean and imports
the app once) and keeps a pipe to each. An invocation sends (kind, function name, call id, input
JSON) to a worker, which answers with the call id and JSON: an activity's outcome, or an
orchestrator episode's reply, with the log records the app made meanwhile (the host logs them, as
the Functions host logs what its Python worker sends: devhost.worker_logs). The host keeps
everything else: history, storage, fault injection, retries, timers.

Each worker runs invocations side by side as the Python worker does (devhost.worker_process):
sync ones on its threads, async ones on its event loop. The host hands a sync invocation to a
worker with a thread free (the one that finished a call last while it runs fewer than two, else
the one running fewest), else it waits; an async one needs no thread and waits only behind
invocations already waiting. A worker that dies is replaced: the activities it was running fail
as technical faults (retried like any other), its episodes are run again on another worker.

Stopping devhost stops the workers at once, busy or not, as the Functions host stops its language
workers: what they were running is abandoned (it is run again after a restart), not failed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from devhost import worker_logs
from devhost.activities import ActivityOutcome, log_failure
from devhost.concurrency import WorkLimit
from devhost.episode import EpisodeResult, decode_episode
from devhost.invocation import ClientBinding
from devhost.worker_pipe import ACTIVITY, OK, ORCHESTRATOR, READY, blocking, frame, receive, unframe
from devhost.worker_process import worker_main

log = logging.getLogger("devhost")

_START_TIMEOUT_SECONDS = 60
_EPISODE_ATTEMPTS = 3
_STOP_SECONDS = 1.0
# A worker keeps taking sync calls while it runs fewer than this, before the one running fewest.
WARM_CALLS = 2


class WorkerLost(Exception):
    """The worker process running an invocation died before it answered."""


class WorkerError(Exception):
    """The worker could not invoke the function (devhost's fault, not the function's)."""


@dataclasses.dataclass(eq=False)  # identity: workers live in a set
class _Worker:
    process: BaseProcess
    conn: Connection
    threads: int = 1  # its sync thread pool, as it reported when ready
    sync_running: int = 0
    calls: dict[int, asyncio.Future[tuple[Any, str | None]]] = dataclasses.field(
        default_factory=dict
    )
    last_freed: int = 0  # when it last finished a call, by the pool's counter


@dataclasses.dataclass(eq=False)
class _Waiter:
    """An invocation waiting for a worker: sync ones for a free thread."""

    sync: bool
    since: float
    worker: asyncio.Future[_Worker]


class WorkerPool:
    """``processes`` worker processes that run activities (an ActivityInvoker) and orchestrator
    episodes (an EpisodeRunner), at most ``max_activities`` and ``max_episodes`` at once
    (devhost.concurrency); ``client`` is the durable client binding they pass activities that
    declare one."""

    restart_delay_seconds = 5.0

    def __init__(
        self,
        processes: int,
        app_file: Path,
        client: ClientBinding | None = None,
        replay_check: bool = False,
        max_activities: int = 10,
        max_episodes: int = 10,
    ) -> None:
        self._replay_check = replay_check
        # host.json's maxConcurrentActivityFunctions and maxConcurrentOrchestratorFunctions.
        self._activity_limit = WorkLimit(max_activities)
        self._episode_limit = WorkLimit(max_episodes)
        if processes < 1:
            raise ValueError("worker processes must be at least 1")
        self._processes = processes
        self._app_file = str(app_file)
        self._client = client or ClientBinding()
        self._context = multiprocessing.get_context("spawn")
        self._workers: set[_Worker] = set()  # started, whether ready or not
        self._ready: list[_Worker] = []  # each with its pipe watched by ``_loop``
        self._loop: asyncio.AbstractEventLoop | None = None
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False
        self._call_ids = itertools.count()
        self._frees = itertools.count(1)
        self._async_activities: set[str] = set()
        # Invocations waiting for a worker, oldest first (a dict keeps the order it was given).
        self._waiting: dict[_Waiter, None] = {}

    async def start(self) -> None:
        """Start every worker now (each imports the app) rather than on the first activities."""
        await asyncio.gather(*(self._add_worker() for _ in range(self._processes)))

    def close(self) -> None:
        """Stop every worker now, idle or busy (within about a second in all)."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        workers = list(self._workers)
        for worker in workers:
            self._forget(worker)
            # Abandoned, not failed, as when the Functions host shuts down: the instance runs
            # it again after a restart.
            for answer in worker.calls.values():
                answer.cancel()
            worker.calls.clear()
            worker.conn.close()
            if worker.process.is_alive():
                worker.process.terminate()
        for waiter in self._waiting:
            waiter.worker.cancel()
        deadline = time.monotonic() + _STOP_SECONDS
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(_STOP_SECONDS)

    def oldest_wait(self) -> float:
        """Seconds the longest-waiting invocation has waited, for its turn under the limits or
        for a worker's thread (0 when none waits)."""
        # Read for every deferred checkpoint: the first waiter is the oldest, no scan.
        oldest = next(iter(self._waiting), None)
        for_thread = 0.0 if oldest is None else time.monotonic() - oldest.since
        limits = (self._activity_limit.oldest_wait(), self._episode_limit.oldest_wait())
        return max(for_thread, *limits)

    async def run(self, name: str, function: Any, input_text: str | None) -> ActivityOutcome:
        try:
            sync = name not in self._async_activities
            async with self._activity_limit:
                answer = await self._call(ACTIVITY, name, input_text, sync)
        except (WorkerLost, WorkerError) as error:
            outcome = ActivityOutcome(
                failed=True, reason=f"Activity function '{name}' failed: {error}"
            )
        else:
            outcome = ActivityOutcome(**answer[0])
        log_failure(name, outcome)
        return outcome

    async def run_episode(
        self, name: str, function: Any, payload: str
    ) -> tuple[EpisodeResult, float]:
        """An orchestrator episode in a worker, as on the Functions host. Episodes are pure, so
        one whose worker died is run again on another; an orchestrator that keeps killing its
        worker fails."""
        for _ in range(_EPISODE_ATTEMPTS):
            try:
                async with self._episode_limit:
                    (raised, cpu_seconds), reply = await self._call(ORCHESTRATOR, name, payload)
                return decode_episode(reply, raised), cpu_seconds
            except WorkerLost as error:
                lost = error
            except WorkerError as error:
                return EpisodeResult(error=str(error)), 0.0
        return EpisodeResult(error=f"{_EPISODE_ATTEMPTS} worker processes lost: {lost}"), 0.0

    async def _call(
        self, kind: str, name: str, text: str | None, sync: bool = True
    ) -> tuple[Any, str | None]:
        """The worker's (header, body) answer."""
        worker = await self._worker_for(sync)
        call_id = next(self._call_ids)
        answer: asyncio.Future[tuple[Any, str | None]] = asyncio.get_running_loop().create_future()
        worker.calls[call_id] = answer
        try:
            blocking(worker.conn)  # a message larger than the pipe buffer goes out whole
            worker.conn.send_bytes(frame([kind, name, call_id], text))
            (status, head, records), body = await answer
        except (EOFError, OSError) as error:  # the send failed: the worker is gone
            self._lose(worker, f"worker process {worker.process.pid} lost")
            raise WorkerLost(f"worker process lost: {error!r}") from error
        except asyncio.CancelledError:
            if self._closed:
                raise
            # Cancelled mid-call: the worker goes on running it; as the Functions host does
            # with an invocation it gives up on, the worker is restarted.
            self._lose(worker, f"worker process {worker.process.pid} left mid-invocation")
            raise
        finally:
            worker.calls.pop(call_id, None)
            if sync:
                self._free(worker)
        worker_logs.replay(records)
        if status != OK:
            raise WorkerError(head)
        return head, body

    async def _worker_for(self, sync: bool) -> _Worker:
        """A worker to run the next invocation on: for a sync one, with a thread free."""
        worker = None if self._waiting else self._pick(sync)
        if worker is None:
            waiter = _Waiter(sync, time.monotonic(), asyncio.get_running_loop().create_future())
            self._waiting[waiter] = None
            try:
                worker = await waiter.worker
            except asyncio.CancelledError:
                if waiter.worker.done() and not waiter.worker.cancelled():
                    self._free(waiter.worker.result())  # given a thread just as it left
                raise
            finally:
                self._waiting.pop(waiter, None)
            return worker
        if sync:
            worker.sync_running += 1
        return worker

    def _pick(self, sync: bool) -> _Worker | None:
        """The worker that finished a call last while it runs fewer than WARM_CALLS, else the
        one running the fewest (of those, the one that finished a call last).

        Keeping work on the warm worker lets the app's per-process memory of the rows it
        committed last be found again (handing work round-robin kept all four warm on 2 cores
        and cost 12% more worker CPU per order at 20 orders/s); moving on once it runs
        WARM_CALLS keeps a burst from queueing behind one interpreter lock.
        """
        free = (w for w in self._ready if not (sync and w.sync_running >= w.threads))
        # Below WARM_CALLS all loads count alike, so the worker freed last wins among them.
        return min(
            free, key=lambda w: (max(len(w.calls), WARM_CALLS - 1), -w.last_freed), default=None
        )

    def _free(self, worker: _Worker) -> None:
        """A sync call on ``worker`` is over: its thread goes to the oldest waiter it suits."""
        worker.sync_running -= 1
        worker.last_freed = next(self._frees)
        self._hand_out()

    def _hand_out(self) -> None:
        """Give waiting invocations, oldest first, a worker now able to take them."""
        for waiter in list(self._waiting):
            if waiter.worker.done():
                continue
            worker = self._pick(waiter.sync)
            if worker is None:
                if waiter.sync:
                    continue  # an async one behind it may still go
                return
            if waiter.sync:
                worker.sync_running += 1
            del self._waiting[waiter]
            waiter.worker.set_result(worker)

    def _answered(self, worker: _Worker) -> None:
        """The worker's pipe is readable: an answer, or the end of a worker that died."""
        try:
            blocking(worker.conn)  # the rest of a long message follows the first bytes at once
            message = worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._lose(worker, f"worker process {worker.process.pid} lost")
            return
        (call_id, *head), body = unframe(message)
        answer = worker.calls.get(call_id)
        if answer is not None and not answer.done():
            answer.set_result((head, body))

    async def _add_worker(self) -> None:
        host_end, worker_end = self._context.Pipe()
        process = self._context.Process(
            target=worker_main,
            args=(
                worker_end,
                self._app_file,
                os.getpid(),
                self._client.json_text,
                self._replay_check,
            ),
            daemon=True,
            name="devhost-worker",
        )
        process.start()
        worker_end.close()
        worker = _Worker(process, host_end)
        self._workers.add(worker)
        try:
            ready = await asyncio.wait_for(receive(host_end), _START_TIMEOUT_SECONDS)
            (said, threads, async_activities), _ = unframe(ready)
        except (EOFError, OSError, TimeoutError, ValueError) as error:
            self._stop(worker)
            raise RuntimeError(f"a worker process failed to load the app: {error!r}") from error
        except asyncio.CancelledError:  # the pool is closing
            self._stop(worker)
            raise
        if said != READY:
            self._stop(worker)
            raise RuntimeError(f"a worker process answered {ready!r} instead of starting")
        worker.threads = threads
        self._async_activities = set(async_activities)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(host_end.fileno(), self._answered, worker)
        self._ready.append(worker)
        self._hand_out()

    def _lose(self, worker: _Worker, what: str) -> None:
        """The worker is gone or given up on: fail what it was running, start another."""
        if worker not in self._workers:
            return
        self._stop(worker)
        if worker.process.exitcode is not None:
            what += f" (exit code {worker.process.exitcode})"
        for answer in worker.calls.values():
            if not answer.done():
                answer.set_exception(WorkerLost(f"worker process lost: {what}"))
        if self._closed:
            return
        log.warning("devhost: %s; starting another", what)
        self._start_replacement()

    def _start_replacement(self) -> None:
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._add_worker())
        self._starting.add(task)
        task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[None]) -> None:
        self._starting.discard(task)
        if task.cancelled() or task.exception() is None or self._closed:
            return
        # As the Functions host restarts a language worker: keep trying (the app may be
        # mid-edit), while invocations wait for a worker rather than fail.
        log.error(
            "devhost: could not start a worker process; trying again in %g s",
            self.restart_delay_seconds,
            exc_info=task.exception(),
        )
        asyncio.get_running_loop().call_later(self.restart_delay_seconds, self._start_replacement)

    def _forget(self, worker: _Worker) -> None:
        """No more calls go to ``worker`` and its pipe is no longer watched."""
        self._workers.discard(worker)
        if worker in self._ready:
            self._ready.remove(worker)
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(worker.conn.fileno())

    def _stop(self, worker: _Worker) -> None:
        self._forget(worker)
        worker.conn.close()  # an idle worker sees end-of-file and returns
        worker.process.join(0.5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(1)
