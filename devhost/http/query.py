"""Query strings and continuation tokens of the durable HTTP API, read like the extension does."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from aiohttp import web

from devhost.http.status import ORCHESTRATION_STATUS_NAMES
from devhost.instance import (
    CANCELED,
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    PENDING,
    RUNNING,
    SUSPENDED,
    TERMINATED,
)

ALL_STATUSES = (
    RUNNING,
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    CANCELED,
    TERMINATED,
    PENDING,
    SUSPENDED,
)


class Query:
    """Query parameters read like .NET's NameValueCollection: case-insensitive names,
    repeated names joined with commas, values that fail to parse count as absent."""

    def __init__(self, request: web.Request) -> None:
        self._values: dict[str, str] = {}
        for key, value in request.query.items():
            lowered = key.lower()
            self._values[lowered] = (
                f"{self._values[lowered]},{value}" if lowered in self._values else value
            )

    def text(self, name: str) -> str | None:
        return self._values.get(name.lower())

    def boolean(self, name: str, default: bool) -> bool:
        value = (self.text(name) or "").strip().lower()
        return {"true": True, "false": False}.get(value, default)

    def integer(self, name: str) -> int | None:
        try:
            return int((self.text(name) or "").strip())
        except ValueError:
            return None

    def seconds(self, name: str) -> float | None:
        try:
            return float((self.text(name) or "").strip())
        except ValueError:
            return None

    def time(self, name: str) -> datetime | None:
        value = (self.text(name) or "").strip()
        head, dash, rest = value.partition("-")
        if dash and 0 < len(head) < 4 and head.isdigit():
            # Python's strftime drops leading zeros of years before 1000 on Linux.
            value = f"{head.zfill(4)}-{rest}"
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed

    def statuses(self, name: str) -> set[str] | None:
        """Runtime statuses by enum name (case-sensitive, like Enum.TryParse) or number."""
        found: set[str] = set()
        any_valid = False
        for token in (self.text(name) or "").split(","):
            token = token.strip()
            if token in ALL_STATUSES:
                found.add(token)
                any_valid = True
            elif token.lstrip("-").isdigit():
                any_valid = True  # a valid number; it names no status devhost produces
                if int(token) in ORCHESTRATION_STATUS_NAMES:
                    found.add(ORCHESTRATION_STATUS_NAMES[int(token)])
        return found if any_valid else None


def utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"devhost:{offset}".encode()).decode()


def decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(token) from error
    prefix, _, number = text.partition(":")
    if prefix != "devhost" or not number.isdigit():
        raise ValueError(token)
    return int(number)
