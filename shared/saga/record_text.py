"""Sizes in the progress record as the host counts them (UTF-16 code units of compact JSON),
and text clipped to fit a share of it."""

from __future__ import annotations

import json
import re
from typing import Any

ELLIPSIS = "\u2026"
_SHORT_ESCAPES = frozenset('"\\\b\f\n\r\t')
# Newtonsoft.Json (which the host serializes custom status with) writes these as \uXXXX and
# Python's json does not; a control character is \uXXXX in both. Counting the longer of the
# two keeps every size here an upper bound for either writer.
_LONG_ESCAPES = frozenset("\u0085\u2028\u2029")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def char_units(char: str) -> int:
    """UTF-16 code units one character takes inside a JSON string."""
    if char in _SHORT_ESCAPES:
        return 2
    if char < " " or char in _LONG_ESCAPES:
        return 6
    return 2 if char > "\uffff" else 1


def text_units(text: str) -> int:
    """UTF-16 code units of ``text`` inside a JSON string, escapes counted, quotes not."""
    return sum(map(char_units, text))


def json_units(value: Any) -> int:
    """UTF-16 code units of ``value`` as compact JSON (an upper bound for the host's count;
    objects JSON has no type for are counted as their ``str``)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    if text.isascii():  # escapes are already spelled out in the text: one unit per character
        return len(text)
    text = _LONE_SURROGATE.sub("\ufffd", text)
    extra = sum(text.count(char) for char in _LONG_ESCAPES) * 5
    return len(text.encode("utf-16-le")) // 2 + extra


def clipped(text: str, limit: int) -> str:
    """``text`` if it takes at most ``limit`` units, else its longest prefix that fits with an
    ellipsis after it. Whole characters only (a surrogate pair is never split), and lone
    surrogates, which no UTF-16 text may hold, become U+FFFD."""
    # Every character takes at least one unit: nothing past limit + 1 can matter.
    head = _LONE_SURROGATE.sub("\ufffd", text[: limit + 1])
    if len(text) <= limit and text_units(head) <= limit:
        return head
    room = limit - char_units(ELLIPSIS)
    kept = 0
    for char in head:
        room -= char_units(char)
        if room < 0:
            break
        kept += 1
    return head[:kept] + ELLIPSIS
