"""An HTTP transport for the Table SDK's calls to storage on this machine (Azurite): one socket
per thread, answers parsed by httptools.

The SDK's default transport goes through requests, urllib3 and http.client, whose header parser
runs the email package over every answer and compiles a new regular expression for each multipart
one (every batch answer has its own boundary): most of a Table call's CPU when the server is on
loopback. ``benchmarks/table_calls.py`` measures a point read and a ledger commit both ways. This
transport implements azure-core's public ``HttpTransport`` and returns azure-core's public
``HttpResponse``, so the SDK's pipeline (signing, retries, errors) is unchanged; it is used only
for plain-HTTP endpoints on loopback (`shared.storage` picks it), never for Azure, where the SDK's
own transport and its proxy, TLS and pooling settings apply. httptools (llhttp, the parser behind
uvicorn) does the HTTP/1.1 parsing; a request is written in one send.

One keep-alive connection per thread (the SDK client is shared by the Functions worker's
threads). A request that fails on a reused connection before any answer came back is sent once
more on a new one: the server closed the idle connection, so it never saw the request.
"""

from __future__ import annotations

import json
import socket
import threading
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httptools
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
_RECEIVE_BYTES = 65536


class _Stale(Exception):
    """The connection ended before any byte of the answer: the server had closed it."""


class LoopbackTransport(HttpTransport):
    """azure-core's HttpTransport for ``http://`` endpoints on loopback (Azurite)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[_Connection] = []
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
        message = _request_bytes(request, target, url.netloc)
        address = (url.hostname, url.port or 80)
        while True:  # twice at most: after a stale connection, the next one is new
            connection, reused = self._connection(address, connect_timeout)
            try:
                answer = connection.exchange(message, read_timeout, request.method == "HEAD")
            except _Stale as error:
                self._drop(address)
                if reused:
                    continue
                raise ServiceResponseError(error, error=error) from error
            except BaseException:
                self._drop(address)
                raise
            status, reason, response_headers, content, keep_alive = answer
            if not keep_alive:
                self._drop(address)
            return LoopbackResponse(request, status, reason, response_headers, content)

    def _connection(
        self, address: tuple[str, int], connect_timeout: float
    ) -> tuple[_Connection, bool]:
        connections = self._connections()
        connection = connections.get(address)
        if connection is not None and connection.sock is not None:
            return connection, True
        if connection is not None:  # closed since its last answer
            self._drop(address)
        try:
            sock = socket.create_connection(address, timeout=connect_timeout)
        except TimeoutError as error:
            raise ServiceRequestTimeoutError(error, error=error) from error
        except OSError as error:
            raise ServiceRequestError(error, error=error) from error
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = connections[address] = _Connection(sock)
        with self._lock:
            self._all.append(connection)
        return connection, False

    def _connections(self) -> dict[tuple[str, int], _Connection]:
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


def _close_all(connections: list[_Connection]) -> None:
    for connection in connections:
        connection.close()
    connections.clear()


def _request_bytes(request: HttpRequest, target: str, host: str) -> bytes:
    body = _body(request)
    headers = dict(request.headers)
    if not any(name.lower() == "host" for name in headers):
        headers["Host"] = host
    if body is not None and not any(name.lower() == "content-length" for name in headers):
        headers["Content-Length"] = str(len(body))
    lines = [f"{request.method} {target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


class _Connection:
    """One keep-alive connection: a request out, its whole answer back."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def exchange(
        self, message: bytes, read_timeout: float, head: bool = False
    ) -> tuple[int, str, CaseInsensitiveDict, bytes, bool]:
        """Send the request and read the whole answer: (status, reason, headers, body,
        keep-alive). Errors as azure-core's transports raise them; _Stale when the connection
        ended before any answer (the caller sends again)."""
        sock = self.sock
        assert sock is not None
        answer = _Answer(bodiless=head)
        received = False
        try:
            sock.settimeout(read_timeout)
            sock.sendall(message)
            while not answer.complete:
                data = sock.recv(_RECEIVE_BYTES)
                if not data:
                    if not received:
                        raise _Stale("the connection was closed before an answer")
                    raise ServiceResponseError("the connection was closed mid-answer")
                received = True
                answer.parser.feed_data(data)
        except (ConnectionResetError, BrokenPipeError) as error:
            if not received:
                raise _Stale(str(error)) from error
            raise ServiceResponseError(error, error=error) from error
        except TimeoutError as error:
            raise ServiceResponseTimeoutError(error, error=error) from error
        except (OSError, httptools.HttpParserError) as error:
            raise ServiceResponseError(error, error=error) from error
        headers = CaseInsensitiveDict(answer.headers)
        body = b"".join(answer.body)
        status = answer.parser.get_status_code()
        return status, answer.reason, headers, body, answer.keep_alive


class _Answer:
    """One answer, parsed by its own httptools parser, which calls back here."""

    def __init__(self, bodiless: bool) -> None:
        self._bodiless = bodiless  # an answer to HEAD: its Content-Length describes no body
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.parser = httptools.HttpResponseParser(self)

    def on_status(self, status: bytes) -> None:
        self.reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self._bodiless:
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        # Asked now: once the message is complete the parser starts over and forgets.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True


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
