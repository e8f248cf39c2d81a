"""Inside a devhost worker process: import the app, then answer the host's calls until it leaves.

As the Python worker does (azure-functions-python-worker, ``azure_functions_worker/
dispatcher.py``), sync functions, orchestrators among them, run on PYTHON_THREADPOOL_THREAD_COUNT
threads (on Python 3.9 and later, when unset, ``ThreadPoolExecutor``'s default: the cores plus
four, at most 32) and async ones on an event loop; the app's log records go to the host with
each answer (devhost.worker_logs). Workers ignore Ctrl-C, which a terminal sends to the whole
process group: the host decides, and a worker whose host is gone (``kill -9``) leaves too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import os
import signal
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from devhost import sdk_speedups, worker_logs
from devhost.activities import run_activity, run_activity_async
from devhost.episode import call_orchestrator
from devhost.invocation import ClientBinding
from devhost.replay_check import call_checked
from devhost.worker_pipe import ACTIVITY, ERROR, OK, ORCHESTRATOR, READY, frame, unframe

log = logging.getLogger("devhost")

THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"


def sync_thread_count(environ: Mapping[str, str]) -> int:
    """The Python worker's thread pool size for sync functions: PYTHON_THREADPOOL_THREAD_COUNT
    when it is a whole number of at least 1 (otherwise a warning and the default), by default
    ThreadPoolExecutor's own (``_get_sync_tp_max_workers`` leaves it unset on Python 3.9+)."""
    text = environ.get(THREAD_COUNT_SETTING)
    if text is not None:
        try:
            count = int(text)
        except ValueError:
            log.warning("%s must be an integer", THREAD_COUNT_SETTING)
        else:
            if count >= 1:
                return count
            log.warning(
                "%s must be set to a value between 1 and sys.maxint. "
                "Reverting to default value for max_workers",
                THREAD_COUNT_SETTING,
            )
    return min(32, (os.cpu_count() or 1) + 4)


def worker_main(
    conn: Connection, app_file: str, host_pid: int, client_json: str | None, replay_check: bool
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs = worker_logs.install()
    from devhost.app_loader import load_app

    threading.Thread(target=_exit_with_host, args=(host_pid,), daemon=True).start()
    functions = load_app(Path(app_file))
    sdk_speedups.install()
    server = _WorkerServer(
        conn,
        functions,
        ClientBinding(client_json),
        replay_check,
        logs,
        sync_thread_count(os.environ),
    )
    conn.send_bytes(frame([READY, server.threads, sorted(server.async_activities)], None))
    server.serve()


class _WorkerServer:
    """Answers the host's calls in a worker. ``threads`` threads (the main one among them) take
    turns reading the pipe; each runs the sync call it read and sends its answer, so nothing is
    handed from a reading thread to a pool (with one thread, a call costs what it cost when a
    worker ran one at a time). Async activities go to an event loop on a thread of its own, as
    the Python worker awaits them on its loop. Each answer carries the records its call logged."""

    def __init__(
        self,
        conn: Connection,
        functions: Any,
        client: ClientBinding,
        replay_check: bool,
        logs: worker_logs.InvocationLogs,
        threads: int,
    ) -> None:
        self.threads = threads
        self._conn = conn
        self._functions = functions
        self._client = client
        self._replay_check = replay_check
        self._logs = logs
        self._reading = threading.Lock()
        self._sending = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # for async activities, if any
        self.async_activities = {
            name
            for name, function in functions.activities.items()
            if inspect.iscoroutinefunction(function.get_user_function())
        }

    def serve(self) -> None:
        """Until the host closes the pipe (devhost is stopping)."""
        if self.async_activities:
            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, name="event_loop", daemon=True).start()
        for number in range(1, self.threads):
            threading.Thread(
                target=self._take_turns, name=f"invocation_{number}", daemon=True
            ).start()
        self._take_turns()

    def _take_turns(self) -> None:
        while True:
            with self._reading:
                try:
                    message = self._conn.recv_bytes()
                except (EOFError, OSError):
                    return
            (kind, name, call_id), text = unframe(message)
            if kind == ACTIVITY and self._loop is not None and name in self.async_activities:
                coroutine = self._answer_async(name, call_id, text)
                asyncio.run_coroutine_threadsafe(coroutine, self._loop)
                continue
            with self._logs.collecting() as records:
                try:
                    head, body = _invoke(
                        self._functions, kind, name, text, self._client, self._replay_check
                    )
                    status: list[Any] = [OK, head]
                except Exception as error:  # devhost's own fault (say, an unknown name)
                    status, body = _fault(error), None
            self._send(frame([call_id, *status, records], body))

    async def _answer_async(self, name: str, call_id: int, text: str | None) -> None:
        with self._logs.collecting() as records:
            try:
                function = self._functions.activities[name]
                outcome = await run_activity_async(name, function, text, self._client)
                status: list[Any] = [OK, dataclasses.asdict(outcome)]
            except Exception as error:  # devhost's own fault
                status = _fault(error)
        self._send(frame([call_id, *status, records], None))

    def _send(self, message: bytes) -> None:
        with self._sending:
            self._conn.send_bytes(message)


def _fault(error: Exception) -> list[Any]:
    return [ERROR, f"{type(error).__name__}: {error}"]


def _invoke(
    functions: Any, kind: str, name: str, text: Any, client: ClientBinding, replay_check: bool
) -> Any:
    if kind == ORCHESTRATOR:
        handler = functions.orchestrators[name].get_user_function()
        began = time.thread_time()
        reply, raised = (call_checked if replay_check else call_orchestrator)(handler, text)
        return [raised, time.thread_time() - began], reply
    outcome = run_activity(name, functions.activities[name], text, client)
    return dataclasses.asdict(outcome), None


def _exit_with_host(host_pid: int) -> None:
    # A killed host (kill -9) cannot stop its workers, and they would wait for work forever:
    # once the host is gone the worker has been re-parented, so it leaves too.
    while os.getppid() == host_pid:
        time.sleep(0.5)
    os._exit(1)
