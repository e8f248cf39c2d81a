"""Invokes HTTP-triggered functions the way the Python worker does, over aiohttp requests."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.http.routes import RouteTemplate
from devhost.invocation import ClientBinding, Parameters

log = logging.getLogger("devhost")

ALL_METHODS = ("GET", "POST", "DELETE", "HEAD", "PATCH", "PUT", "OPTIONS", "TRACE")


@dataclass
class HttpFunction:
    """An HTTP-triggered function of the app, with what it takes to call it."""

    name: str
    user_function: Any
    template: RouteTemplate
    methods: frozenset[str] | None  # None: every method
    parameters: Parameters
    is_async: bool = False

    @classmethod
    def from_function(cls, function: Any) -> HttpFunction:
        """Raises RouteTemplateError when the route is invalid (the host refuses it too)."""
        trigger = function.get_trigger()
        name = function.get_function_name()
        methods = trigger.methods
        user_function = function.get_user_function()
        return cls(
            name=name,
            user_function=user_function,
            template=RouteTemplate(trigger.route if trigger.route is not None else name),
            methods=None
            if not methods
            else frozenset(str(getattr(m, "value", m)).upper() for m in methods),
            parameters=Parameters.of(function),
            is_async=inspect.iscoroutinefunction(user_function),
        )

    @property
    def client_params(self) -> list[str]:
        return list(self.parameters.clients)

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

    def __init__(self, client: ClientBinding, executor: ThreadPoolExecutor | None = None):
        self.client = client
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
        except Exception as error:
            # The caller gets what the host sends for a failed invocation: a bare 500.
            log.exception("function %s failed: %s: %s", function.name, type(error).__name__, error)
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
        kwargs = function.parameters.arguments(
            await to_http_request(request, route_params), self.client
        )
        if function.is_async:
            result = await function.user_function(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            call = functools.partial(function.user_function, **kwargs)
            result = await loop.run_in_executor(self._executor, call)
        return to_web_response(result)
