"""The pipe between devhost and a worker process: what travels on it and how it is framed.

The host sends ``[kind, function name, call id]`` and the input JSON; the worker answers
``[call id, status, answer, log records]`` and the episode reply, if any. A worker says it is
ready with ``[READY, its sync threads, its async activities]``.
"""

from __future__ import annotations

import asyncio
import json
import os
from multiprocessing.connection import Connection
from typing import Any

READY = "ready"
ACTIVITY, ORCHESTRATOR = "activity", "orchestrator"
OK, ERROR = "ok", "error"


def frame(head: Any, body: str | None) -> bytes:
    """One pipe message: a JSON header line, then the body's raw text (JSON payloads and
    replies travel as they are, not escaped into another JSON document)."""
    return json.dumps([head, body is not None]).encode() + b"\n" + (body or "").encode()


def unframe(message: bytes) -> tuple[Any, str | None]:
    header, _, body = message.partition(b"\n")  # JSON escapes every newline inside the header
    head, has_body = json.loads(header)
    return head, body.decode() if has_body else None


async def receive(conn: Connection) -> bytes:
    """The next message on the pipe, waiting on the event loop rather than a thread."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[bytes] = loop.create_future()
    fd = conn.fileno()

    def readable() -> None:
        loop.remove_reader(fd)
        if arrived.done():
            return
        try:
            blocking(conn)  # the rest of a long message follows the first bytes at once
            arrived.set_result(conn.recv_bytes())
        except BaseException as error:  # EOFError when the worker died
            arrived.set_exception(error)

    loop.add_reader(fd, readable)
    try:
        return await arrived
    finally:
        if not arrived.done() or arrived.cancelled():
            loop.remove_reader(fd)


def blocking(conn: Connection) -> None:
    """uvloop's add_reader leaves the pipe non-blocking (libuv's uv_poll_init sets O_NONBLOCK),
    and Connection's send_bytes/recv_bytes then fail with BlockingIOError on any message the
    64 KB pipe buffer cannot hold at once: make it blocking again before each."""
    os.set_blocking(conn.fileno(), True)
