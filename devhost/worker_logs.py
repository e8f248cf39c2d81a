"""The app's log records in a worker process, handed to the host as the Python worker hands them.

The Functions Python worker sets its root logger to INFO (DEBUG with PYTHON_ENABLE_DEBUG_LOGGING)
and sends every record to the host, which logs it (azure-functions-python-worker,
``azure_functions_worker/dispatcher.py``: ``root_logger.setLevel(log_level)`` and its
``AsyncLoggingHandler``). A devhost worker does the same over its pipe: the records of an
invocation travel with its answer and the host logs them as they were made (name, level, time,
message with any traceback). Records made outside any invocation (at import, or on a thread the
app starts itself) go to stderr.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_DEBUG_LOGGING = "PYTHON_ENABLE_DEBUG_LOGGING"
_TRUE = {"1", "true", "yes", "on"}


# The records of the invocation the current thread (or asyncio task) is running: invocations
# run side by side, on the worker's thread pool and its event loop.
_collected: contextvars.ContextVar[list[list[Any]] | None] = contextvars.ContextVar(
    "devhost_invocation_logs", default=None
)


class InvocationLogs(logging.Handler):
    """Collects each invocation's records; writes any other record to stderr."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))
        self._stderr = logging.StreamHandler(sys.stderr)
        self._stderr.setFormatter(logging.Formatter("[%(asctime)s] %(message)s"))

    @contextmanager
    def collecting(self) -> Iterator[list[list[Any]]]:
        """The records made in this thread or task meanwhile: [logger name, level, created
        (epoch s), message]."""
        records: list[list[Any]] = []
        token = _collected.set(records)
        try:
            yield records
        finally:
            _collected.reset(token)

    def emit(self, record: logging.LogRecord) -> None:
        collected = _collected.get()
        if collected is None:
            self._stderr.handle(record)
            return
        try:
            message = self.format(record)
            collected.append([record.name, record.levelno, record.created, message])
        except Exception:  # as logging does: a record that cannot be formatted is reported
            self.handleError(record)


def install() -> InvocationLogs:
    """Route the worker's records through one InvocationLogs at the Python worker's level."""
    handler = InvocationLogs()
    root = logging.getLogger()
    debug = os.environ.get(_DEBUG_LOGGING, "").strip().lower() in _TRUE
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.handlers[:] = [handler]
    # The Azure SDKs' loggers keep the root's level, as in the Python worker: their INFO request
    # traces reach the host unless the app quiets them (this app does, in function_app.py).
    return handler


def replay(records: list[list[Any]]) -> None:
    """Log, in the host, the records a worker collected during an invocation."""
    for name, level, created, message in records:
        record = logging.makeLogRecord(
            {
                "name": name,
                "levelno": level,
                "levelname": logging.getLevelName(level),
                "msg": message,
                "created": created,
                "msecs": (created - int(created)) * 1000,
            }
        )
        logger = logging.getLogger(name)
        if logger.isEnabledFor(level):
            logger.handle(record)
