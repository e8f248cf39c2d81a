"""devhost's HTTP server: the app's HTTP triggers, the durable HTTP API and a health endpoint."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web

from devhost.app_loader import FunctionIndex
from devhost.config import HostConfig
from devhost.faults import Fault, FaultPlan
from devhost.http import local_client
from devhost.http.binding import RPC_PATH, WEBHOOK_PATH, client_binding_json, under
from devhost.http.durable_api import DurableApi
from devhost.http.routes import RouteTemplateError
from devhost.http.throttle import HttpThrottle, LoadMonitor
from devhost.http.triggers import HttpFunction, TriggerInvoker
from devhost.invocation import ClientBinding
from devhost.runtime import TaskHub

log = logging.getLogger("devhost")

MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's request body limit
# How long requests still in flight may run once devhost stops (aiohttp's default is a minute):
# Ctrl-C stops devhost at once, as it stops `func start`.
SHUTDOWN_SECONDS = 0.5
HEALTH_PATH = "/admin/host/status"
FAULTS_PATH = "/admin/faults"
RPC_BASE = RPC_PATH.rstrip("/")
API_BASES = (RPC_BASE, WEBHOOK_PATH)
FUNCTIONS_KEY = web.AppKey("devhost.functions", list[HttpFunction])


def public_host(host: str) -> str:
    """The host name to print and hand out for a bind address."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def http_functions(functions: FunctionIndex) -> list[HttpFunction]:
    """The app's HTTP functions, most specific route first (the host's route precedence).

    A function whose route template is invalid is left out and logged, as the host refuses it.
    """
    found = []
    for function in functions.http:
        try:
            found.append(HttpFunction.from_function(function))
        except RouteTemplateError as error:
            log.error("function %s is not served: %s", function.get_function_name(), error)
    return sorted(found, key=lambda f: f.template.precedence)


def base_url_of(host: str, port: int) -> str:
    """Where callers reach devhost listening on ``host:port``."""
    return f"http://{public_host(host)}:{port}"


def durable_client(base_url: str, config: HostConfig) -> ClientBinding:
    """The durable client binding of a devhost served at ``base_url``, for every function."""
    return ClientBinding(client_binding_json(base_url, config.hub_name, base_url + RPC_PATH))


def build_app(
    hub: TaskHub | Callable[[], TaskHub],
    functions: FunctionIndex,
    config: HostConfig,
    port: int,
    host: str = "127.0.0.1",
) -> web.Application:
    """The aiohttp application, served on ``host:port`` (the client binding points there);
    ``hub`` is the task hub or a callable returning the current one."""
    base_url = base_url_of(host, port)
    invoker = TriggerInvoker(durable_client(base_url, config))
    api = DurableApi(hub, config.hub_name)
    routes = http_functions(functions)
    prefix = "/" + config.route_prefix.strip("/") if config.route_prefix.strip("/") else ""

    monitor = LoadMonitor(lambda: current_hub(hub).queue_delay())
    throttle = HttpThrottle(config.throttle, monitor.exceeded)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        lowered = request.path.lower()
        if not throttle.settings.enabled or not _throttled(lowered):
            return await route(request, lowered)
        return await throttle.admit(lambda: route(request, lowered))

    async def route(request: web.Request, lowered: str) -> web.StreamResponse:
        path = request.path
        if lowered == HEALTH_PATH:
            if request.method in ("GET", "HEAD"):
                cpu = current_hub(hub).orchestrator_cpu_seconds
                return web.json_response({"state": "Running", "orchestratorCpuSeconds": cpu})
            return web.Response(status=404)
        if lowered == FAULTS_PATH:
            return await handle_faults(request, current_hub(hub).faults)
        for base in API_BASES:
            if under(lowered, base):
                return await api.handle(request, path[len(base) :])
        below = _below_prefix(request.rel_url.raw_path, prefix)
        if below is None:
            return web.Response(status=404)
        path_matched = False
        for function in routes:
            values = function.template.match(below)
            if values is None:
                continue
            if function.allows(request.method):
                return await invoker.invoke(function, request, values)
            path_matched = True
        if path_matched:
            # The host answers 404 here too (no 405): say why in the log, not to the caller.
            log.info("%s %s: no function accepts this method on that route", request.method, path)
        return web.Response(status=404)

    stop_local_calls: list[Callable[[], None]] = []

    async def start_monitor(_: web.Application) -> None:
        if config.throttle.dynamic_throttles_enabled:
            monitor.start()
        # The app's HTTP functions run on this loop: their durable client's calls skip the socket.
        stop_local_calls.append(
            local_client.serve(base_url + RPC_BASE, api.handle, MAX_REQUEST_BYTES)
        )

    async def close_invoker(_: web.Application) -> None:
        monitor.stop()
        invoker.close()
        for stop in stop_local_calls:
            stop()

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[FUNCTIONS_KEY] = routes
    # [\s\S]: every path reaches dispatch, also one with an encoded newline in it.
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)
    app.on_startup.append(start_monitor)
    app.on_cleanup.append(close_invoker)
    return app


def _throttled(lowered_path: str) -> bool:
    """Every request passes the host's throttle but /admin ones and the durable client's RPC
    calls (the extension's own listener on the Functions host)."""
    return not (lowered_path.startswith("/admin/") or under(lowered_path, RPC_BASE))


def _below_prefix(raw_path: str, prefix: str) -> str | None:
    """The raw path after the route prefix (compared case-insensitively), or None."""
    if not prefix:
        return raw_path
    if raw_path.lower() == prefix.lower():
        return ""
    if raw_path.lower().startswith(prefix.lower() + "/"):
        return raw_path[len(prefix) :]
    return None


def reserve(host: str, port: int) -> socket.socket:
    """Bind the address now, so a taken port fails here and port 0 resolves to the real port;
    connections are refused until ``serve`` listens on the socket.

    Raises OSError when the address cannot be bound (e.g. the port is taken).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name == "posix":  # as asyncio binds: a restarted devhost gets its port back at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def serve(
    hub: TaskHub | Callable[[], TaskHub],
    functions: FunctionIndex,
    config: HostConfig,
    host: str,
    port: int,
    sock: socket.socket | None = None,
) -> tuple[web.AppRunner, str]:
    """Start serving; returns the runner (``await runner.cleanup()`` stops it) and the base URL.

    ``hub`` may be a callable returning the current hub (a test host replaces it on restart).
    ``sock`` is a socket from ``reserve(host, port)``, when the caller bound it already.

    Raises OSError when the address cannot be bound (e.g. the port is taken).
    """
    if sock is None:
        sock = reserve(host, port)
    actual_port = sock.getsockname()[1]
    app = build_app(hub, functions, config, actual_port, host)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS
    )
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        sock.close()
        raise
    return runner, base_url_of(host, actual_port)


def served_functions(runner: web.AppRunner) -> list[HttpFunction]:
    app: Any = runner.app
    return list(app[FUNCTIONS_KEY])


def current_hub(hub: TaskHub | Callable[[], TaskHub]) -> TaskHub:
    return hub if isinstance(hub, TaskHub) else hub()


async def handle_faults(request: web.Request, faults: FaultPlan) -> web.Response:
    """devhost's own test hook: ``POST /admin/faults`` with ``{"fault": "fail" | "duplicate" |
    "duplicate_concurrent" | "crash_after_commit", "activity": "*", "times": 1 | null}`` adds a
    fault for end-to-end tests of a running host; ``DELETE`` clears them all."""
    if request.method == "DELETE":
        faults.clear()
        return web.Response(status=204)
    if request.method != "POST":
        return web.Response(status=404)
    try:
        body = await request.json()
        fault = Fault(body["fault"])
        activity = str(body.get("activity", "*"))
        times = body.get("times", 1)
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ValueError("times must be a positive whole number or null")
    except (ValueError, KeyError, TypeError) as error:
        return web.json_response({"error": f"invalid fault: {error}"}, status=400)
    faults.add(fault, activity, times)
    log.info("devhost: fault %s added for activity %s (times %s)", fault.value, activity, times)
    return web.json_response(
        {"fault": fault.value, "activity": activity, "times": times}, status=201
    )
