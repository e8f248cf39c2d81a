"""Makes the Durable SDK's history parsing cheaper in devhost's processes, with identical results.

The SDK (1.7) parses every history event's timestamp with dateutil's general-purpose parser each
time it replays an episode; that parse was half of an orchestrator episode's CPU. devhost writes
every timestamp in one fixed format, so it hands the SDK a parser that reads that format directly
(and remembers what it read) and gives any other text to dateutil. The result is the same
``datetime``, in the zone dateutil itself gives a trailing "Z"; the tests in
tests/devhost/test_sdk_speedups.py check that, and that the SDK still parses through the name
replaced here.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import datetime
from functools import lru_cache
from typing import Any

from dateutil.parser import parse as dateutil_parse  # type: ignore[import-untyped]

log = logging.getLogger("devhost")

# devhost's history timestamps: devhost.history.format_timestamp.
_DEVHOST_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
# The zone the installed dateutil gives a trailing "Z" (tzutc in 2.x), used as it is.
_ZONE_OF_Z = dateutil_parse("2000-01-01T00:00:00.000000Z").tzinfo


@lru_cache(maxsize=65536)
def parse_timestamp(text: str) -> datetime:
    """dateutil.parser.parse(text), fast for devhost's own timestamp format."""
    if _DEVHOST_FORMAT.match(text):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=_ZONE_OF_Z)
    return dateutil_parse(text)


def _uncached_or_cached(text: Any, *args: Any, **kwargs: Any) -> datetime:
    if args or kwargs or not isinstance(text, str):
        return dateutil_parse(text, *args, **kwargs)
    return parse_timestamp(text)


def install() -> bool:
    """Route the SDK's history timestamp parsing through ``parse_timestamp``; False (and a
    warning) if this SDK version no longer parses through ``HistoryEvent.dt_parse``."""
    import azure.durable_functions.models.history  # noqa: F401  (loads the module below)

    module = sys.modules["azure.durable_functions.models.history.HistoryEvent"]
    current = getattr(module, "dt_parse", None)
    if current is _uncached_or_cached:
        return True
    if current is not dateutil_parse:
        log.warning("the durable SDK no longer parses timestamps as devhost expects; unchanged")
        return False
    module.dt_parse = _uncached_or_cached  # type: ignore[attr-defined]
    return True
