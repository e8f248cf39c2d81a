"""An HTTP transport for the Table SDK's calls to storage on this machine (Azurite), on http.client.

The SDK's default transport goes through requests, urllib3 and http.client's email-based header
parser (which compiles a new regular expression for every multipart answer), about half of a
Table call's CPU when the server is on loopback: a point read costs the app's process 2.3 ms
that way against 1.1 ms here, a ledger commit 3.2 ms against 1.6 ms
(`benchmarks/table_calls.py`). This transport implements azure-core's public ``HttpTransport`` and
returns azure-core's public ``HttpResponse``, so the SDK's pipeline (signing, retries, errors) is
unchanged; it is used only for plain-HTTP endpoints on loopback (`shared.storage` picks it), never
for Azure, where the SDK's own transport and its proxy, TLS and pooling settings apply.

One keep-alive connection per thread (the SDK client is shared by the Functions worker's
threads). A request that fails on a reused connection before any answer came back is sent once
more on a new one: the server closed the idle connection, so it never saw the request.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import CaseInsensitiveDict

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# azure-core's defaults for connection_timeout and read_timeout.
DEFAULT_TIMEOUT_SECONDS = 300.0
# What an idle keep-alive connection the server has closed looks like on the next request.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class LoopbackTransport(HttpTransport):
    """azure-core's HttpTransport for ``http://`` endpoints on loopback (Azurite)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []
        # A client dropped without close() still closes its sockets (no ResourceWarning).
        weakref.finalize(self, _close_all, self._all)

    def open(self) -> None:
        return None

    def close(self) -> None:
        with self._lock:
            _close_all(self._all)
        self._local = threading.local()

    def __enter__(self) -> LoopbackTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: Any, **kwargs: Any) -> HttpResponse:
        if not isinstance(request, HttpRequest):
            raise TypeError("LoopbackTransport sends azure.core.rest.HttpRequest objects only")
        url = urlsplit(request.url)
        if url.scheme != "http" or url.hostname not in LOOPBACK:
            raise ValueError(f"LoopbackTransport serves http:// on loopback only, not {url.netloc}")
        connect_timeout = float(kwargs.get("connection_timeout") or DEFAULT_TIMEOUT_SECONDS)
        read_timeout = float(kwargs.get("read_timeout") or DEFAULT_TIMEOUT_SECONDS)
        target = url.path + (f"?{url.query}" if url.query else "")
        body = _body(request)
        headers = dict(request.headers)
        address = (url.hostname, url.port or 80)
        while True:  # twice at most: after a stale connection, the next one is new
            connection, reused = self._connection(address, connect_timeout)
            try:
                connection.sock.settimeout(read_timeout)
                answer = _exchange(connection, request.method, target, body, headers)
            except _STALE as error:
                self._drop(address)
                if reused:
                    continue
                raise ServiceResponseError(error, error=error) from error
            except BaseException:
                self._drop(address)
                raise
            status, reason, response_headers, content = answer
            return LoopbackResponse(request, status, reason, response_headers, content)

    def _connection(
        self, address: tuple[str, int], connect_timeout: float
    ) -> tuple[http.client.HTTPConnection, bool]:
        connections = self._connections()
        connection = connections.get(address)
        if connection is not None and connection.sock is not None:
            return connection, True
        if connection is not None:  # the server asked to close it after its last answer
            self._drop(address)
        connection = http.client.HTTPConnection(*address, timeout=connect_timeout)
        try:
            connection.connect()
        except TimeoutError as error:
            raise ServiceRequestTimeoutError(error, error=error) from error
        except OSError as error:
            raise ServiceRequestError(error, error=error) from error
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections[address] = connection
        with self._lock:
            self._all.append(connection)
        return connection, False

    def _connections(self) -> dict[tuple[str, int], http.client.HTTPConnection]:
        """This thread's open connections, by (host, port)."""
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        return connections

    def _drop(self, address: tuple[str, int]) -> None:
        connection = self._connections().pop(address, None)
        if connection is not None:
            connection.close()
            with self._lock:
                if connection in self._all:
                    self._all.remove(connection)


def _close_all(connections: list[http.client.HTTPConnection]) -> None:
    for connection in connections:
        connection.close()
    connections.clear()


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    body: bytes | None,
    headers: dict[str, str],
) -> tuple[int, str, CaseInsensitiveDict, bytes]:
    """Send the request and read the whole answer; errors as azure-core's transports raise them
    (a stale connection's errors pass through, for the caller to send again)."""
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
    except _STALE:
        raise
    except TimeoutError as error:
        raise ServiceResponseTimeoutError(error, error=error) from error
    except (OSError, http.client.HTTPException) as error:
        raise ServiceResponseError(error, error=error) from error
    if response.will_close:
        connection.close()  # http.client reconnects on the next request
    return response.status, response.reason, CaseInsensitiveDict(response.getheaders()), content


def _body(request: HttpRequest) -> bytes | None:
    content = request.content
    if content is None or isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    raise TypeError(f"LoopbackTransport cannot send a {type(content).__name__} body")


class LoopbackResponse(HttpResponse):
    """A fully read answer: Table responses are small, so nothing is streamed."""

    def __init__(
        self,
        request: HttpRequest,
        status: int,
        reason: str,
        headers: CaseInsensitiveDict,
        content: bytes,
    ) -> None:
        self._request = request
        self._status = status
        self._reason = reason
        self._headers = headers
        self._content = content
        self._encoding: str | None = None
        self._closed = False

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def status_code(self) -> int:
        return self._status

    @property
    def reason(self) -> str:
        return self._reason

    @property
    def headers(self) -> CaseInsensitiveDict:
        return self._headers

    @property
    def content_type(self) -> str | None:
        return self._headers.get("Content-Type")

    @property
    def encoding(self) -> str | None:
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def is_stream_consumed(self) -> bool:
        return True

    @property
    def content(self) -> bytes:
        return self._content

    def text(self, encoding: str | None = None) -> str:
        return self._content.decode(encoding or self._encoding or "utf-8-sig")

    def json(self) -> Any:
        return json.loads(self.text()) if self._content else None

    def raise_for_status(self) -> None:
        if self._status >= 400:
            raise HttpResponseError(response=self)

    def read(self) -> bytes:
        return self._content

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> LoopbackResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
