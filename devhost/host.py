"""The `python -m devhost` command: run a Functions app locally, like `func start`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from devhost import sdk_speedups
from devhost.activities import ActivityInvoker, ActivityRunner
from devhost.app_loader import AppLoadError, FunctionIndex, load_app
from devhost.clock import Clock, ScaledClock, WallClock
from devhost.config import HostConfig, HostConfigError, load_local_settings
from devhost.episode import InProcessEpisodes
from devhost.http.server import base_url_of, durable_client, reserve, serve, served_functions
from devhost.http.triggers import HttpFunction
from devhost.invocation import ClientBinding
from devhost.runtime import TaskHub
from devhost.schedules import ScheduleRunner
from devhost.store import InstanceStore
from devhost.workers import WorkerPool

log = logging.getLogger("devhost")

STORAGE_TIMEOUT_SECONDS = 30
STORAGE_SETTING = "AzureWebJobsStorage"
# Long enough for the episodes of a quick saga (tens of ms each) to share one checkpoint.
DEFAULT_CHECKPOINT_MS = 250.0


class StartupError(Exception):
    """A problem reported as one line, exit status 2."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devhost", description="Run a Durable Functions app locally."
    )
    parser.add_argument("--app", default="function_app.py", help="the app file or its folder")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--store", choices=("tables", "memory"), default="tables")
    parser.add_argument(
        "--connection-string", help="storage for --store tables (default: AzureWebJobsStorage)"
    )
    parser.add_argument("--hub", help="task hub name (default: host.json's hubName)")
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=0,
        help="run activities in this many worker processes, as the Functions host runs its "
        "language workers (default 0: in devhost's process, on threads)",
    )
    parser.add_argument(
        "--replay-check",
        action="store_true",
        help="run every orchestrator episode twice, the second time with the clock shifted and "
        "other random numbers and uuids, and fail instances whose runs differ (catches "
        "datetime.now(), random and uuid4 in orchestrator code)",
    )
    parser.add_argument(
        "--checkpoint-ms",
        type=float,
        default=DEFAULT_CHECKPOINT_MS,
        help="how long an episode that only scheduled activities and timers may wait for its "
        "checkpoint, so episodes of a quick saga share one write (0: write every episode before "
        "its work starts; a crash loses at most this much progress, which replays)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="run durable time this many times faster than real time (timers, retries)",
    )
    return parser.parse_args(argv)


def resolve_connection_string(value: str | None) -> str:
    """The explicit connection string; ``UseDevelopmentStorage=true`` means local Azurite."""
    if not value:
        raise StartupError(
            "no storage connection string: pass --connection-string, set AzureWebJobsStorage "
            "(e.g. in local.settings.json), or use --store memory"
        )
    if value.replace(" ", "").lower().startswith("usedevelopmentstorage=true"):
        from devhost.azurite import DEV_CONNECTION_STRING

        return DEV_CONNECTION_STRING
    return value


def table_endpoint(connection_string: str) -> tuple[str, int] | None:
    """Host and port of the Table endpoint named in the connection string, if any."""
    settings = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    endpoint = {key.lower(): value for key, value in settings.items()}.get("tableendpoint")
    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    if parts.hostname is None:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def make_store(args: argparse.Namespace, config: HostConfig) -> InstanceStore:
    if args.store == "memory":
        from devhost.store.memory import MemoryStore

        return MemoryStore()
    connection_string = resolve_connection_string(
        args.connection_string or os.environ.get(STORAGE_SETTING)
    )
    endpoint = table_endpoint(connection_string)
    if endpoint is not None:
        try:
            socket.create_connection(endpoint, timeout=2).close()
        except OSError as error:
            raise StartupError(
                f"storage unreachable at {endpoint[0]}:{endpoint[1]} ({error.strerror or error}); "
                "start Azurite (python -m devhost.azurite) or use --store memory"
            ) from error
    from devhost.store.tables import TableStore

    return TableStore(connection_string, config.hub_name)


def load(args: argparse.Namespace) -> tuple[FunctionIndex, HostConfig]:
    path = Path(args.app).resolve()
    app_dir = path if path.is_dir() else path.parent
    # As with func: local settings are in the environment before the app is imported.
    try:
        load_local_settings(app_dir)
    except (OSError, ValueError) as error:
        raise StartupError(f"cannot read {app_dir / 'local.settings.json'}: {error}") from error
    # The host reads host.json before it starts the language worker that imports the app.
    try:
        config = HostConfig.load(app_dir)
    except HostConfigError as error:
        raise StartupError(str(error)) from error
    except Exception as error:
        raise StartupError(f"cannot read {app_dir / 'host.json'}: {error}") from error
    try:
        functions = load_app(path)
        # HTTP and timer functions run in this process: their durable clients parse statuses.
        sdk_speedups.install()
    except AppLoadError as error:
        raise StartupError(f"cannot load the app: {error}") from error
    except Exception as error:  # e.g. get_functions() refusing duplicate function names
        raise StartupError(f"cannot index the app: {error!r}") from error
    if args.hub:
        config = dataclasses.replace(config, hub_name=args.hub)
    return functions, config


def function_lines(
    functions: FunctionIndex, base_url: str, route_prefix: str, served: list[HttpFunction]
) -> list[str]:
    """The function list `func start` prints: HTTP functions with their URLs, then the rest."""
    prefix = f"/{route_prefix.strip('/')}" if route_prefix.strip("/") else ""
    lines = [
        f"  {f.name}: [{f.methods_label()}] {base_url}{prefix}/{f.template.text.strip('/')}"
        for f in sorted(served, key=lambda f: f.name)
    ]
    lines += [f"  {name}: orchestrationTrigger" for name in functions.orchestrators]
    lines += [f"  {name}: activityTrigger" for name in functions.activities]
    lines += [
        f"  {f.get_function_name()}: timerTrigger ({f.get_trigger().schedule})"
        for f in functions.timers
    ]
    lines += [
        f"  {f.get_function_name()}: {f.get_trigger().get_binding_name()} (not run by devhost)"
        for f in [*functions.entities.values(), *functions.unsupported]
    ]
    return lines


async def run(args: argparse.Namespace) -> int:
    functions, config = load(args)
    store = make_store(args, config)
    if args.time_scale <= 0:
        raise StartupError("--time-scale must be > 0")
    clock: Clock = WallClock() if args.time_scale == 1 else ScaledClock(args.time_scale)
    # The address first: the durable client binding every function gets names it, and
    # activities resumed by hub.start() may use it before the server runs.
    try:
        sock = reserve(args.host, args.port)
    except OSError as error:
        reason = error.strerror or error
        raise StartupError(f"cannot listen on {args.host}:{args.port}: {reason}") from error
    client = durable_client(base_url_of(args.host, sock.getsockname()[1]), config)
    try:
        hub, workers = await _start_hub(args, functions, config, store, clock, client)
    except BaseException:
        sock.close()
        raise
    try:
        runner, base_url = await serve(hub, functions, config, args.host, args.port, sock)
    except BaseException:
        if workers is not None:
            workers.close()
        await hub.stop()
        raise
    schedules = ScheduleRunner(functions.timers, clock, client=client)
    schedules.start()
    lines = function_lines(functions, base_url, config.route_prefix, served_functions(runner))
    print("\nFunctions:\n\n" + "\n".join(lines))
    print(
        f"\ndevhost is running on {base_url} (task hub {config.hub_name}). Press Ctrl+C to stop.\n",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("devhost: stopping")
        schedules.stop()
        if workers is not None:
            # First: what the workers were running is abandoned (and run again after a
            # restart), as when the Functions host stops, rather than reported lost.
            workers.close()
        await runner.cleanup()
        await hub.stop()
        await _close_client_session()
    return 0


async def _start_hub(
    args: argparse.Namespace,
    functions: FunctionIndex,
    config: HostConfig,
    store: InstanceStore,
    clock: Clock,
    client: ClientBinding,
) -> tuple[TaskHub, WorkerPool | None]:
    """The task hub, its activities run in-process or in worker processes, started."""
    workers = None
    if args.worker_processes > 0:
        workers = WorkerPool(
            args.worker_processes,
            functions.app_file or Path(args.app),
            client,
            replay_check=args.replay_check,
            max_activities=config.max_concurrent_activities,
            max_episodes=config.max_concurrent_orchestrations,
        )
    activities: ActivityInvoker = workers or ActivityRunner(
        config.max_concurrent_activities, client
    )
    if workers is not None:
        try:
            await workers.start()
        except RuntimeError as error:  # a worker could not import the app
            workers.close()
            raise StartupError(str(error)) from error
    hub = TaskHub(
        functions,
        store,
        clock,
        config,
        activity_runner=activities,
        episode_runner=workers or InProcessEpisodes(args.replay_check),
        checkpoint_delay=max(0.0, args.checkpoint_ms) / 1000,
    )
    try:
        await asyncio.wait_for(hub.start(), STORAGE_TIMEOUT_SECONDS)
    except TimeoutError as error:
        activities.close()
        raise StartupError(f"storage did not answer within {STORAGE_TIMEOUT_SECONDS} s") from error
    except Exception as error:
        activities.close()
        raise StartupError(f"storage unreachable or unusable: {error}") from error
    return hub, workers


async def _close_client_session() -> None:
    """Close the durable SDK's shared aiohttp session (it has no public shutdown hook)."""
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows): it serves HTTP and storage
    calls with a tenth less CPU per order than asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s")
    # The app's INFO logs show, as with func, and so do the Azure SDKs' request traces from the
    # app's HTTP functions (running here) unless the app quiets them; devhost's own storage
    # requests log to a logger of their own (devhost.store.tables.requests), quiet below WARNING.
    try:
        with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
            return runner.run(run(args))
    except StartupError as error:
        print(f"devhost: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
