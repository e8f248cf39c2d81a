"""Activities in separate worker processes, as the Functions host runs its language workers.

With ``--worker-processes N`` devhost starts N processes (spawned: each starts clean and imports
the app once); an activity invocation sends (function name, input JSON) to one of them and gets
the outcome back. The host keeps everything else: fault injection, logging, retries, history.
Each worker runs one activity at a time, so N is also the activity concurrency.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from devhost.activities import ActivityOutcome, ActivityRunner

# State of one worker process, set by _start_worker.
_functions: Any = None
_runner: ActivityRunner | None = None
_loop: asyncio.AbstractEventLoop | None = None


def _start_worker(app_file: str) -> None:
    global _functions, _runner, _loop
    from devhost.app_loader import load_app

    threading.Thread(target=_exit_with_host, args=(os.getppid(),), daemon=True).start()

    _functions = load_app(Path(app_file))
    _loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_loop)
    _runner = _loop.run_until_complete(_new_runner())


async def _new_runner() -> ActivityRunner:
    return ActivityRunner(1)  # its semaphore belongs to this worker's loop


def _exit_with_host(host_pid: int) -> None:
    # A killed host (kill -9) cannot stop its workers, and they would wait for work forever:
    # once the host is gone the worker has been re-parented, so it leaves too.
    while os.getppid() == host_pid:
        time.sleep(0.5)
    os._exit(1)


def _run_activity(name: str, input_text: str | None) -> ActivityOutcome:
    assert _loop is not None and _runner is not None
    return _loop.run_until_complete(_runner.run(name, _functions.activities[name], input_text))


def _settle() -> None:
    # Long enough that each of the warm-up calls lands on a different worker.
    time.sleep(0.2)


class ProcessActivityRunner:
    """An ActivityRunner whose activities run in ``processes`` worker processes."""

    def __init__(self, processes: int, app_file: Path) -> None:
        if processes < 1:
            raise ValueError("worker processes must be at least 1")
        self._processes = processes
        self._pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(str(app_file),),
        )

    async def start(self) -> None:
        """Start every worker now (each imports the app) rather than on the first activities."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._pool, _settle) for _ in range(self._processes))
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, name: str, function: Any, input_text: str | None) -> ActivityOutcome:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, _run_activity, name, input_text)
        except Exception as error:  # the worker died (BrokenProcessPool): a technical fault
            return ActivityOutcome(
                failed=True,
                reason=f"Activity function '{name}' failed: worker process lost: {error!r}",
            )
