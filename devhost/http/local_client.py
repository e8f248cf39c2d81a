"""The durable client's calls to devhost's own durable API, answered without a socket.

devhost runs the app's HTTP functions on its own event loop (the Functions host hands them to
the Python worker; the durable client inside them calls the extension's RPC listener over
loopback). Their ``DurableOrchestrationClient`` therefore calls back into the process it runs
in: a start or status read cost an aiohttp client request and an aiohttp server request on the
same loop, a third of the CPU of an order's POST or GET. This module answers those calls by
handing the same request to the same ``DurableApi`` handler, and the SDK gets what its own
``post_async_request``/``get_async_request``/``delete_async_request`` return from the same
answer: ``[status, body parsed as JSON]``, ``""`` for a GET's empty body.

Only calls under the RPC base of a devhost served on the caller's own event loop take this
path; anything else (another host, a durable client in a worker process, or one running on
another thread's loop) goes over HTTP as before. The RPC base is not throttled on the Functions
host either (devhost.http.throttle), so no answer differs. tests/devhost/test_local_client.py
compares both paths call by call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDictProxy
from yarl import URL

from devhost.http.binding import under

log = logging.getLogger("devhost")

# The durable API handler: the request and the path below the API's base, as the server calls it.
Handler = Callable[[Any, str], Awaitable[web.StreamResponse]]
_CLIENT_MODULE = "azure.durable_functions.models.DurableOrchestrationClient"
_SDK_NAMES = ("post_async_request", "get_async_request", "delete_async_request")
_JSON = "application/json"


@dataclass(frozen=True)
class _Served:
    rpc_base: URL  # scheme, host, port and the RPC base path of one served devhost
    handler: Handler
    loop: asyncio.AbstractEventLoop
    max_body_bytes: int


_served: list[_Served] = []
_sdk_originals: dict[str, Any] = {}


class LocalRequest:
    """A durable client call as devhost's durable API reads it (see api_request.ApiRequest),
    with what aiohttp's client would have sent: its headers, and Content-Type for a JSON body."""

    def __init__(self, method: str, url: URL, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.url = url
        self.path = url.path
        self.scheme = url.scheme
        self.host = url.raw_authority
        sent = CIMultiDict(headers)
        if body:
            sent["Content-Type"] = _JSON
        self.headers = CIMultiDictProxy(sent)
        self.query: MultiDictProxy[str] = url.query
        self.content_type = _JSON if body else "application/octet-stream"
        self._body = body

    async def read(self) -> bytes:
        return self._body


def serve(
    rpc_base_url: str,
    handler: Handler,
    max_body_bytes: int,
) -> Callable[[], None]:
    """Answer this loop's durable client calls below ``rpc_base_url`` with ``handler``; returns
    the function that stops it. Installs the SDK hooks on first use."""
    if not _install():
        return lambda: None
    served = _Served(
        URL(rpc_base_url.rstrip("/")), handler, asyncio.get_running_loop(), max_body_bytes
    )
    _served.append(served)
    return lambda: _served.remove(served) if served in _served else None


async def answer_locally(
    method: str, url_text: str, body: bytes, headers: dict[str, str]
) -> list[Any] | None:
    """``[status, parsed body]`` answered in-process, or None when the call must go over HTTP."""
    url = URL(url_text)
    loop = asyncio.get_running_loop()
    for served in _served:
        base = served.rpc_base
        if served.loop is not loop or (url.scheme, url.raw_authority) != (
            base.scheme,
            base.raw_authority,
        ):
            continue
        if not under(url.path.lower(), base.path) or len(body) > served.max_body_bytes:
            return None
        request = LocalRequest(method, url, headers, body)
        try:
            response = await served.handler(request, url.path[len(base.path) :])
        except web.HTTPException as answer:  # as aiohttp's server would send it
            response = answer
        return [response.status, _parsed(response)]
    return None


def _parsed(response: web.StreamResponse) -> Any:
    # aiohttp's ClientResponse.json(content_type=None): None for an empty body.
    body = response.body if isinstance(response, web.Response) else None
    raw = body if isinstance(body, bytes) else b""
    stripped = raw.strip()
    return json.loads(stripped.decode(response.charset or "utf-8")) if stripped else None


async def _post(
    url: str,
    data: Any = None,
    trace_parent: str | None = None,
    trace_state: str | None = None,
    function_invocation_id: str | None = None,
) -> list[Any]:
    headers = _correlation(function_invocation_id)
    if trace_parent:
        headers["traceparent"] = trace_parent
    if trace_state:
        headers["tracestate"] = trace_state
    # aiohttp's json= sends json.dumps(data), and no body at all for None.
    body = b"" if data is None else json.dumps(data).encode()
    answer = await answer_locally("POST", url, body, headers)
    if answer is None:
        sdk_post = _sdk_originals["post_async_request"]
        return list(await sdk_post(url, data, trace_parent, trace_state, function_invocation_id))
    return answer


async def _get(url: str, function_invocation_id: str | None = None) -> list[Any]:
    answer = await answer_locally("GET", url, b"", _correlation(function_invocation_id))
    if answer is None:
        return list(await _sdk_originals["get_async_request"](url, function_invocation_id))
    status, data = answer
    return [status, "" if data is None else data]  # as the SDK's get_async_request


async def _delete(url: str, function_invocation_id: str | None = None) -> list[Any]:
    answer = await answer_locally("DELETE", url, b"", _correlation(function_invocation_id))
    if answer is None:
        return list(await _sdk_originals["delete_async_request"](url, function_invocation_id))
    return answer


def _correlation(function_invocation_id: str | None) -> dict[str, str]:
    return (
        {"X-Azure-Functions-InvocationId": function_invocation_id} if function_invocation_id else {}
    )


_LOCAL = {"post_async_request": _post, "get_async_request": _get, "delete_async_request": _delete}


def _install() -> bool:
    """Point the SDK client's request functions at the local ones (they fall back to the SDK's);
    False, with a warning, when this SDK version no longer calls them as devhost expects."""
    if _sdk_originals:
        return True
    import azure.durable_functions.models.DurableOrchestrationClient  # noqa: F401
    from azure.durable_functions.models.utils import http_utils

    module = sys.modules[_CLIENT_MODULE]
    for name in _SDK_NAMES:
        if getattr(module, name, None) is not getattr(http_utils, name, None):
            log.warning(
                "the durable SDK's client no longer calls http_utils.%s as devhost expects; its "
                "calls to devhost go over HTTP",
                name,
            )
            return False
    for name in _SDK_NAMES:
        _sdk_originals[name] = getattr(module, name)
        setattr(module, name, _LOCAL[name])
    return True
