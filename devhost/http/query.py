"""Query strings, paths and continuation tokens of the durable HTTP API, read like the extension
reads them (.NET parsing rules included)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from devhost.http.api_request import ApiRequest
from devhost.http.status import ORCHESTRATION_STATUS_NAMES

# Azure Table storage accepts $top from 1 to 1000 (the storage query fails otherwise).
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100  # OrchestrationStatusQueryCondition.PageSize's default
# .NET's NumberStyles.Float | AllowThousands under the invariant culture, as double.TryParse.
_DOTNET_DOUBLE = re.compile(r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DOTNET_INT = re.compile(r"[+-]?\d+")


class UnknownStatus(ValueError):
    """``runtimeStatus=Unknown`` (or -1): a query status DurableTask.Core has no name for."""


class Query:
    """Query parameters read like .NET's NameValueCollection: case-insensitive names,
    repeated names joined with commas, values that fail to parse count as absent."""

    def __init__(self, request: ApiRequest) -> None:
        self._values: dict[str, str] = {}
        for key, value in request.query.items():
            lowered = key.lower()
            self._values[lowered] = (
                f"{self._values[lowered]},{value}" if lowered in self._values else value
            )

    def text(self, name: str) -> str | None:
        return self._values.get(name.lower())

    def boolean(self, name: str, default: bool) -> bool:
        """bool.TryParse: ``true``/``false`` in any case, surrounding whitespace allowed."""
        value = (self.text(name) or "").strip().lower()
        return {"true": True, "false": False}.get(value, default)

    def integer(self, name: str) -> int | None:
        """int.TryParse (whitespace and a sign allowed; no underscores, no overflow)."""
        value = (self.text(name) or "").strip()
        if not _DOTNET_INT.fullmatch(value):
            return None
        number = int(value)
        return number if -(2**31) <= number < 2**31 else None

    def seconds(self, name: str) -> float | None:
        """double.TryParse: decimals, exponents, thousands separators, NaN and Infinity."""
        value = (self.text(name) or "").strip()
        special = {
            "nan": float("nan"),
            "infinity": float("inf"),
            "+infinity": float("inf"),
            "-infinity": float("-inf"),
        }
        if value.lower() in special:
            return special[value.lower()]
        if not _DOTNET_DOUBLE.fullmatch(value):
            return None
        return float(value.replace(",", ""))

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
        """Runtime statuses of a status query: ``Enum.TryParse<OrchestrationRuntimeStatus>`` per
        comma item (case-sensitive names or any integer). ``Unknown`` parses but cannot be
        converted to a storage status, which the extension reports (raises UnknownStatus)."""
        found: set[str] = set()
        any_valid = False
        for token in _items(self.text(name)):
            if token == "Unknown" or (_DOTNET_INT.fullmatch(token) and int(token) == -1):
                raise UnknownStatus("Requested value 'Unknown' was not found.")
            status = _status(token)
            if status is not None or _DOTNET_INT.fullmatch(token):
                any_valid = True  # a valid number naming no status matches nothing
            if status is not None:
                found.add(status)
        return found if any_valid else None

    def orchestration_statuses(self, name: str) -> list[str]:
        """``Enum.TryParse<OrchestrationStatus>`` per comma item (DurableTask.Core's enum, which
        has no Unknown); items that name no status are dropped."""
        return [status for token in _items(self.text(name)) if (status := _status(token))]


def _items(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _status(token: str) -> str | None:
    if token in ORCHESTRATION_STATUS_NAMES.values():
        return token
    if _DOTNET_INT.fullmatch(token):
        return ORCHESTRATION_STATUS_NAMES.get(int(token))
    return None


def api_segments(path: str) -> list[str]:
    """The route segments of a path below the API base. The extension matches routes against
    ``WebUtility.UrlDecode`` of the path, so ``%XX`` is decoded and ``+`` reads as a space;
    ``path`` comes already percent-decoded once, as Kestrel hands it on."""
    return unquote_plus(path).strip("/").split("/")


def url_encode(value: str) -> str:
    """WebUtility.UrlEncode: space as ``+``, ``A-Za-z0-9-_.!*()`` kept, the rest ``%XX``."""
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in "-_.!*()"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def dotnet_number(value: float) -> str:
    """A double as .NET's ``ToString()`` writes it (``5``, ``0.5``, ``1E-05``)."""
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        mantissa = mantissa.removesuffix(".0")
        return f"{mantissa}E{exponent[0]}{exponent[1:].zfill(2)}"
    return text.removesuffix(".0")


def utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant


def partition_key(instance_id: str) -> str:
    """KeySanitation.EscapePartitionKey (DurableTask.AzureStorage): the key status queries are
    ordered and paged by."""
    out = []
    for char in instance_id:
        code = ord(char)
        if char == "^":
            out.append("^^")
        elif char in "/\\#?":
            out.append("^" + str("/\\#?".index(char)))
        elif code <= 0x1F or 0x7F <= code <= 0x9F:
            out.append("^" + chr(0xC0 + code))
        else:
            out.append(char)
    return "".join(out)


def encode_token(next_key: str) -> str:
    """A continuation token shaped like Azure Tables' ("NextPartitionKey NextRowKey"): it names
    the next row to read, so paging survives instances being added or purged between pages."""
    encoded = base64.urlsafe_b64encode(next_key.encode("utf-8")).decode("ascii")
    return f"1!{len(encoded)}!{encoded} 1!0!"


def decode_token(token: str) -> str:
    """The partition key a token names (ValueError when the storage would reject it)."""
    head, _, row_key = token.partition(" ")
    parts = head.split("!")
    if len(parts) != 3 or parts[0] != "1" or row_key != "1!0!" or parts[1] != str(len(parts[2])):
        raise ValueError(token)
    try:
        return base64.urlsafe_b64decode(parts[2].encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError) as error:
        raise ValueError(token) from error
