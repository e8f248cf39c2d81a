"""Values the durable SDK may hand over still JSON-encoded as text (it encodes bodies twice)."""

from __future__ import annotations

import json
from typing import Any


def decoded_once(raw: Any) -> Any:
    """A string that parses as JSON is decoded once; anything else is returned as it is.

    Event data and status fields can arrive as JSON text on the real host
    (azure-functions-durable-python #295), or already decoded.
    """
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw
