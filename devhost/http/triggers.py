"""Invokes HTTP-triggered functions the way the Python worker does, over aiohttp requests."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.http.routes import RouteTemplate

log = logging.getLogger("devhost")

# Bindings devhost provides besides the trigger: the HTTP return value and the durable client.
HTTP_OUTPUT, DURABLE_CLIENT = "http", "durableClient"
ALL_METHODS = ("GET", "POST", "DELETE", "HEAD", "PATCH", "PUT", "OPTIONS", "TRACE")


class _Context(func.Context):
    """The invocation context the worker passes to a function with a ``context`` parameter."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return SimpleNamespace(trace_parent="", trace_state="", attributes={})

    @property
    def retry_context(self) -> Any:
        return SimpleNamespace(retry_count=0, max_retry_count=0, exception=None)


@dataclass
class HttpFunction:
    """An HTTP-triggered function of the app, with what it takes to call it."""

    name: str
    user_function: Any
    template: RouteTemplate
    methods: frozenset[str] | None  # None: every method
    trigger_param: str
    client_params: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    wants_context: bool = False
    is_async: bool = False
    directory: str = ""

    @classmethod
    def from_function(cls, function: Any, app_dir: Path | None = None) -> HttpFunction:
        """Raises RouteTemplateError when the route is invalid (the host refuses it too)."""
        trigger = function.get_trigger()
        name = function.get_function_name()
        methods = trigger.methods
        user_function = function.get_user_function()
        client_params, unsupported = [], []
        for binding in function.get_bindings():
            if binding is trigger or binding.type == HTTP_OUTPUT:
                continue
            if binding.type == DURABLE_CLIENT:
                client_params.append(binding.name)
            else:
                unsupported.append(f"{binding.type} '{binding.name}'")
        return cls(
            name=name,
            user_function=user_function,
            template=RouteTemplate(trigger.route if trigger.route is not None else name),
            methods=None
            if not methods
            else frozenset(str(getattr(m, "value", m)).upper() for m in methods),
            trigger_param=trigger.name,
            client_params=client_params,
            unsupported=unsupported,
            wants_context="context" in inspect.signature(user_function).parameters,
            is_async=inspect.iscoroutinefunction(user_function),
            directory=str(app_dir or ""),
        )

    def allows(self, method: str) -> bool:
        return self.methods is None or method.upper() in self.methods

    def methods_label(self) -> str:
        return ",".join(sorted(self.methods or ALL_METHODS))


def _joined(pairs: Any) -> dict[str, str]:
    """A multi-dict as the host passes it to the worker: repeated keys joined with commas."""
    joined: dict[str, str] = {}
    for key, value in pairs.items():
        existing = next((k for k in joined if k.lower() == key.lower()), None)
        if existing is None:
            joined[key] = value
        else:
            joined[existing] = f"{joined[existing]},{value}"
    return joined


async def to_http_request(request: web.Request, route_params: dict[str, str]) -> func.HttpRequest:
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=_joined(request.headers),
        params=_joined(request.query),
        route_params=route_params,
        body=await request.read(),
    )


def to_web_response(result: Any) -> web.Response:
    """The function's return value as the worker and host turn it into a response."""
    if isinstance(result, str):
        return web.Response(
            status=200, body=result.encode(), headers={"Content-Type": "text/plain; charset=utf-8"}
        )
    if isinstance(result, func.HttpResponse):
        response = web.Response(status=int(result.status_code), body=result.get_body() or b"")
        for key, value in result.headers.items():
            response.headers.add(key, value)
        if "content-type" not in {key.lower() for key in response.headers}:
            mimetype = result.mimetype
            if mimetype.startswith("text/"):
                mimetype = f"{mimetype}; charset={result.charset}"
            response.headers["Content-Type"] = mimetype
        return response
    # The worker's own message for a return value the http binding cannot encode.
    raise TypeError(
        f'unable to encode outgoing TypedData: unsupported type "http" for Python type '
        f'"{type(result).__name__}"'
    )


class TriggerInvoker:
    """Calls HTTP functions: async ones on the loop, sync ones in a thread pool, like the worker."""

    def __init__(self, client_binding_json: str, executor: ThreadPoolExecutor | None = None):
        self.client_binding_json = client_binding_json
        self._executor = executor or ThreadPoolExecutor(thread_name_prefix="devhost-http")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def invoke(
        self, function: HttpFunction, request: web.Request, route_params: dict[str, str]
    ) -> web.Response:
        began = time.perf_counter()
        try:
            response = await self._call(function, request, route_params)
        except asyncio.CancelledError:
            raise
        except web.HTTPException:
            raise
        except Exception:
            # The caller gets what the host sends for a failed invocation: a bare 500.
            log.exception("function %s failed", function.name)
            response = web.Response(status=500)
        log.info(
            "%s: %s %s -> %d in %.1f ms",
            function.name,
            request.method,
            request.path_qs,
            response.status,
            (time.perf_counter() - began) * 1000,
        )
        return response

    async def _call(
        self, function: HttpFunction, request: web.Request, route_params: dict[str, str]
    ) -> web.Response:
        if function.unsupported:
            raise RuntimeError(
                f"devhost cannot provide the binding(s) {', '.join(function.unsupported)}"
            )
        kwargs: dict[str, Any] = {
            function.trigger_param: await to_http_request(request, route_params)
        }
        for name in function.client_params:
            kwargs[name] = self.client_binding_json
        if function.wants_context:
            kwargs["context"] = _Context(function.name, function.directory)
        if function.is_async:
            result = await function.user_function(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            call = functools.partial(function.user_function, **kwargs)
            result = await loop.run_in_executor(self._executor, call)
        return to_web_response(result)
