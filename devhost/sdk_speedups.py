"""Makes the Durable SDK's history parsing cheaper in devhost's processes, with identical results.

The SDK (1.7) parses every history event's timestamp with dateutil's general-purpose parser each
time it replays an episode; that parse was half of an orchestrator episode's CPU. devhost writes
every timestamp in one fixed format, so it hands the SDK a parser that reads that format directly
(and remembers what it read) and gives any other text to dateutil. The result is the same
``datetime``, in the zone dateutil itself gives a trailing "Z".

The status the durable client reads (DurableOrchestrationStatus) parses its created and
last-updated times the same way; devhost's status API writes them in whole seconds, which the
same parser reads directly (a poll of an order spent a sixth of its CPU in dateutil).

The SDK also builds a new namedtuple class in every TaskOrchestrationExecutor, i.e. on every
episode (a sixth of the order saga's episode CPU); devhost lets that module's ``namedtuple``
return the class it built before for the same name and fields.

The tests in tests/devhost/test_sdk_speedups.py check both give what the SDK's own code gives,
and that the SDK still goes through the names replaced here.
"""

from __future__ import annotations

import collections
import functools
import logging
import re
import sys
from datetime import datetime
from typing import Any

from dateutil.parser import parse as dateutil_parse  # type: ignore[import-untyped]

log = logging.getLogger("devhost")

# devhost's history timestamps (devhost.history.format_timestamp) and its status API's times
# (devhost.http.status.api_time, whole seconds as the extension writes them).
_DEVHOST_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")
# The zone the installed dateutil gives a trailing "Z" (tzutc in 2.x), used as it is.
_ZONE_OF_Z = dateutil_parse("2000-01-01T00:00:00.000000Z").tzinfo


@functools.lru_cache(maxsize=65536)
def parse_timestamp(text: str) -> datetime:
    """dateutil.parser.parse(text), fast for devhost's own timestamp formats."""
    if _DEVHOST_FORMAT.match(text):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=_ZONE_OF_Z)
    return dateutil_parse(text)


def _uncached_or_cached(text: Any, *args: Any, **kwargs: Any) -> datetime:
    if args or kwargs or not isinstance(text, str):
        return dateutil_parse(text, *args, **kwargs)
    return parse_timestamp(text)


# namedtuple(typename, field_names) for the same arguments: one class, made once.
cached_namedtuple = functools.cache(collections.namedtuple)


def install() -> bool:
    """Route the SDK's history timestamp parsing through ``parse_timestamp`` and its executor's
    namedtuple classes through ``cached_namedtuple``; False (and a warning) for each this SDK
    version no longer does as devhost expects (that one is left unchanged)."""
    # Loads the modules below.
    import azure.durable_functions.models.DurableOrchestrationStatus
    import azure.durable_functions.models.history
    import azure.durable_functions.models.TaskOrchestrationExecutor  # noqa: F401

    replaced = [
        _replace(
            "azure.durable_functions.models.history.HistoryEvent",
            "dt_parse",
            dateutil_parse,
            _uncached_or_cached,
        ),
        _replace(
            "azure.durable_functions.models.DurableOrchestrationStatus",
            "dt_parse",
            dateutil_parse,
            _uncached_or_cached,
        ),
        _replace(
            "azure.durable_functions.models.TaskOrchestrationExecutor",
            "namedtuple",
            collections.namedtuple,
            cached_namedtuple,
        ),
    ]
    return all(replaced)


def _replace(module_name: str, name: str, expected: Any, faster: Any) -> bool:
    module = sys.modules[module_name]
    current = getattr(module, name, None)
    if current is faster:
        return True
    if current is not expected:
        log.warning(
            "the durable SDK no longer uses %s.%s as devhost expects; unchanged", module_name, name
        )
        return False
    setattr(module, name, faster)
    return True
