"""Functions in separate worker processes, as the Functions host runs its language workers.

With ``--worker-processes N`` devhost starts N processes (spawned: each starts clean and imports
the app once) and keeps a pipe to each. An invocation sends (kind, function name, input JSON) to
an idle worker, which runs it on its main thread and sends the answer back as JSON: an activity's
outcome, or an orchestrator episode's reply, with the log records the app made meanwhile (the
host logs them, as the Functions host logs what its Python worker sends: devhost.worker_logs).
The host keeps everything else: history, storage, fault injection, retries, timers. Each worker
runs one invocation at a time, so N is also the concurrency. A worker that dies is replaced: the
activity it was running fails as a technical fault (retried like any other), the episode is run
again on another worker.

Stopping devhost stops the workers at once, busy or not, as the Functions host stops its language
workers: what they were running is abandoned (it is run again after a restart), not failed.
Workers ignore Ctrl-C, which a terminal sends to the whole process group: the host decides.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from devhost import sdk_speedups, worker_logs
from devhost.activities import ActivityOutcome, log_failure, run_activity, run_activity_async
from devhost.episode import EpisodeResult, call_orchestrator, decode_episode
from devhost.invocation import ClientBinding
from devhost.replay_check import call_checked

log = logging.getLogger("devhost")

_READY = b"ready"
_START_TIMEOUT_SECONDS = 60
_ACTIVITY, _ORCHESTRATOR = "activity", "orchestrator"
_OK, _ERROR = "ok", "error"
_EPISODE_ATTEMPTS = 3
_STOP_SECONDS = 1.0


class WorkerLost(Exception):
    """The worker process running an invocation died before it answered."""


class WorkerError(Exception):
    """The worker could not invoke the function (devhost's fault, not the function's)."""


def _worker_main(
    conn: Connection, app_file: str, host_pid: int, client_json: str | None, replay_check: bool
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs = worker_logs.install()
    from devhost.app_loader import load_app

    threading.Thread(target=_exit_with_host, args=(host_pid,), daemon=True).start()
    functions = load_app(Path(app_file))
    sdk_speedups.install()
    client = ClientBinding(client_json)
    loop = asyncio.new_event_loop()  # for async activity functions
    conn.send_bytes(_READY)
    while True:
        try:
            (kind, name), text = unframe(conn.recv_bytes())
        except EOFError:  # the host closed the pipe: devhost is stopping
            return
        logs.begin()
        try:
            head, body = _invoke(functions, loop, kind, name, text, client, replay_check)
            message = frame([_OK, head, logs.end()], body)
        except Exception as error:  # devhost's own fault (say, an unknown name): the worker lives
            message = frame([_ERROR, f"{type(error).__name__}: {error}", logs.end()], None)
        conn.send_bytes(message)


def _invoke(
    functions: Any,
    loop: asyncio.AbstractEventLoop,
    kind: str,
    name: str,
    text: Any,
    client: ClientBinding,
    replay_check: bool,
) -> Any:
    if kind == _ORCHESTRATOR:
        handler = functions.orchestrators[name].get_user_function()
        began = time.thread_time()
        reply, raised = (call_checked if replay_check else call_orchestrator)(handler, text)
        return [raised, time.thread_time() - began], reply
    function = functions.activities[name]
    if inspect.iscoroutinefunction(function.get_user_function()):
        outcome = loop.run_until_complete(run_activity_async(name, function, text, client))
    else:
        outcome = run_activity(name, function, text, client)
    return dataclasses.asdict(outcome), None


def frame(head: Any, body: str | None) -> bytes:
    """One pipe message: a JSON header line, then the body's raw text (JSON payloads and
    replies travel as they are, not escaped into another JSON document)."""
    return json.dumps([head, body is not None]).encode() + b"\n" + (body or "").encode()


def unframe(message: bytes) -> tuple[Any, str | None]:
    header, _, body = message.partition(b"\n")  # JSON escapes every newline inside the header
    head, has_body = json.loads(header)
    return head, body.decode() if has_body else None


def _exit_with_host(host_pid: int) -> None:
    # A killed host (kill -9) cannot stop its workers, and they would wait for work forever:
    # once the host is gone the worker has been re-parented, so it leaves too.
    while os.getppid() == host_pid:
        time.sleep(0.5)
    os._exit(1)


@dataclasses.dataclass(eq=False)  # identity: workers live in a set
class _Worker:
    process: BaseProcess
    conn: Connection


class WorkerPool:
    """``processes`` worker processes that run activities (an ActivityInvoker) and orchestrator
    episodes (an EpisodeRunner); ``client`` is the durable client binding they pass activities
    that declare one."""

    restart_delay_seconds = 5.0

    def __init__(
        self,
        processes: int,
        app_file: Path,
        client: ClientBinding | None = None,
        replay_check: bool = False,
    ) -> None:
        self._replay_check = replay_check
        if processes < 1:
            raise ValueError("worker processes must be at least 1")
        self._processes = processes
        self._app_file = str(app_file)
        self._client = client or ClientBinding()
        self._context = multiprocessing.get_context("spawn")
        # The worker idle the shortest time goes first: under light load the same one or two
        # stay busy and their caches warm, while the rest sleep. Handing work round-robin kept
        # all of them warm on 2 cores and cost 12% more worker CPU per order at 20 orders/s.
        self._idle: asyncio.LifoQueue[_Worker] = asyncio.LifoQueue()
        self._workers: set[_Worker] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False
        # When each invocation now waiting for an idle worker began to wait, by a token.
        self._waiting: dict[object, float] = {}

    async def start(self) -> None:
        """Start every worker now (each imports the app) rather than on the first activities."""
        await asyncio.gather(*(self._add_worker() for _ in range(self._processes)))

    def close(self) -> None:
        """Stop every worker now, idle or busy (within about a second in all)."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        workers = list(self._workers)
        self._workers.clear()
        for worker in workers:
            if worker.process.is_alive():
                worker.process.terminate()
        deadline = time.monotonic() + _STOP_SECONDS
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(_STOP_SECONDS)
        # A busy worker's pipe is closed by its caller, once the loop stops watching it.
        while not self._idle.empty():
            self._idle.get_nowait().conn.close()

    def oldest_wait(self) -> float:
        """Seconds the longest-waiting invocation has waited for a worker (0 when none waits)."""
        # Waits are added as they begin and dicts keep that order: the first is the oldest
        # (read for every deferred checkpoint, so not a scan of every wait).
        oldest = next(iter(self._waiting.values()), None)
        return 0.0 if oldest is None else time.monotonic() - oldest

    async def run(self, name: str, function: Any, input_text: str | None) -> ActivityOutcome:
        try:
            answer = await self._call(_ACTIVITY, name, input_text)
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
                (raised, cpu_seconds), reply = await self._call(_ORCHESTRATOR, name, payload)
                return decode_episode(reply, raised), cpu_seconds
            except WorkerLost as error:
                lost = error
            except WorkerError as error:
                return EpisodeResult(error=str(error)), 0.0
        return EpisodeResult(error=f"{_EPISODE_ATTEMPTS} worker processes lost: {lost}"), 0.0

    async def _call(self, kind: str, name: str, text: str | None) -> tuple[Any, str | None]:
        """The worker's (header, body) answer."""
        token = object()
        self._waiting[token] = time.monotonic()
        try:
            worker = await self._idle.get()
        finally:
            del self._waiting[token]
        try:
            _blocking(worker.conn)  # a message larger than the pipe buffer goes out whole
            worker.conn.send_bytes(frame([kind, name], text))
            message = await _receive(worker.conn)
        except (EOFError, OSError) as error:
            if self._closed:
                # Stopped by close(): the invocation is abandoned, not failed, as when the
                # Functions host shuts down (the instance runs it again after a restart).
                self._stop(worker)
                raise asyncio.CancelledError from error
            self._replace(worker, f"worker process {worker.process.pid} lost")
            raise WorkerLost(f"worker process lost: {error!r}") from error
        except BaseException:  # cancelled mid-call: the worker's answer would be misread later
            self._replace(worker, f"worker process {worker.process.pid} left mid-invocation")
            raise
        self._idle.put_nowait(worker)
        (status, head, records), body = unframe(message)
        worker_logs.replay(records)
        if status != _OK:
            raise WorkerError(head)
        return head, body

    async def _add_worker(self) -> None:
        host_end, worker_end = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
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
            ready = await asyncio.wait_for(_receive(host_end), _START_TIMEOUT_SECONDS)
        except (EOFError, OSError, TimeoutError) as error:
            self._stop(worker)
            raise RuntimeError(f"a worker process failed to load the app: {error!r}") from error
        except asyncio.CancelledError:  # the pool is closing
            self._stop(worker)
            raise
        if ready != _READY:
            self._stop(worker)
            raise RuntimeError(f"a worker process answered {ready!r} instead of starting")
        self._idle.put_nowait(worker)

    def _replace(self, worker: _Worker, what: str) -> None:
        self._stop(worker)
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

    def _stop(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        worker.conn.close()  # an idle worker sees end-of-file and returns
        worker.process.join(0.5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(1)


async def _receive(conn: Connection) -> bytes:
    """The next message on the pipe, waiting on the event loop rather than a thread."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[bytes] = loop.create_future()
    fd = conn.fileno()

    def readable() -> None:
        loop.remove_reader(fd)
        if arrived.done():
            return
        try:
            _blocking(conn)  # the rest of a long message follows the first bytes at once
            arrived.set_result(conn.recv_bytes())
        except BaseException as error:  # EOFError when the worker died
            arrived.set_exception(error)

    loop.add_reader(fd, readable)
    try:
        return await arrived
    finally:
        if not arrived.done() or arrived.cancelled():
            loop.remove_reader(fd)


def _blocking(conn: Connection) -> None:
    """uvloop's add_reader leaves the pipe non-blocking (libuv's uv_poll_init sets O_NONBLOCK),
    and Connection's send_bytes/recv_bytes then fail with BlockingIOError on any message the
    64 KB pipe buffer cannot hold at once: make it blocking again before each."""
    os.set_blocking(conn.fileno(), True)
