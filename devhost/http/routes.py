"""Azure Functions (ASP.NET Core) route templates: parsing, matching and route precedence."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import unquote

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_DECIMAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)\s*")
_FLOAT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_GUID_FORMS = (
    re.compile(r"[0-9a-f]{32}", re.I),
    re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I),
    re.compile(r"\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}", re.I),
    re.compile(r"\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)", re.I),
)


class RouteTemplateError(ValueError):
    """The route template is malformed or uses an unknown constraint."""


def _integer_in(bounds: tuple[int, int]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return bool(_INTEGER.fullmatch(value)) and bounds[0] <= int(value) <= bounds[1]

    return check


def _is_guid(value: str) -> bool:
    if not any(form.fullmatch(value.strip()) for form in _GUID_FORMS):
        return False
    uuid.UUID(value.strip().strip("{}()"))
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _as_int(text: str) -> int:
    try:
        return int(text)
    except ValueError as error:
        raise RouteTemplateError(f"constraint argument {text!r} is not an integer") from error


def _build_constraint(name: str, args: list[str]) -> Callable[[str], bool]:
    """ASP.NET Core's built-in inline constraints (unknown ones fail at load time, as there)."""
    simple: dict[str, Callable[[str], bool]] = {
        "int": _integer_in(INT32),
        "long": _integer_in(INT64),
        "bool": lambda v: v.strip().lower() in ("true", "false"),
        "datetime": _is_datetime,
        "decimal": lambda v: bool(_DECIMAL.fullmatch(v)),
        "double": lambda v: bool(_FLOAT.fullmatch(v)),
        "float": lambda v: bool(_FLOAT.fullmatch(v)),
        "guid": _is_guid,
        "alpha": lambda v: bool(re.fullmatch(r"[a-z]*", v, re.I)),
        "required": lambda v: v != "",
    }
    key = name.lower()
    if key in simple:
        if args:
            raise RouteTemplateError(f"constraint {name!r} takes no arguments")
        return simple[key]
    if key == "regex" and len(args) == 1:
        pattern = re.compile(args[0], re.I)
        return lambda v: pattern.search(v) is not None
    numbers = [_as_int(arg) for arg in args] if key != "regex" else []
    if key == "minlength" and len(numbers) == 1:
        return lambda v: len(v) >= numbers[0]
    if key == "maxlength" and len(numbers) == 1:
        return lambda v: len(v) <= numbers[0]
    if key == "length" and len(numbers) == 1:
        return lambda v: len(v) == numbers[0]
    if key == "length" and len(numbers) == 2:
        return lambda v: numbers[0] <= len(v) <= numbers[1]
    in_long = _integer_in(INT64)
    if key == "min" and len(numbers) == 1:
        return lambda v: in_long(v) and int(v) >= numbers[0]
    if key == "max" and len(numbers) == 1:
        return lambda v: in_long(v) and int(v) <= numbers[0]
    if key == "range" and len(numbers) == 2:
        return lambda v: in_long(v) and numbers[0] <= int(v) <= numbers[1]
    raise RouteTemplateError(f"unknown route constraint {name}({','.join(args)})")


@dataclass
class Parameter:
    name: str
    optional: bool = False
    catch_all: bool = False
    default: str | None = None
    constraints: list[Callable[[str], bool]] = field(default_factory=list)

    def accepts(self, value: str) -> bool:
        return all(check(value) for check in self.constraints)


Part = str | Parameter  # a literal, or a parameter


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside parentheses (constraint arguments may contain it)."""
    pieces: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char == separator and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _parse_parameter(body: str, template: str) -> Parameter:
    # Syntax: {*name:constraint(args):constraint=default} or {name:constraint?}.
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    optional = body.endswith("?")
    body = body.removesuffix("?")
    body, *defaults = _split_top_level(body, "=")
    default = "=".join(defaults) if defaults else None
    name, *constraint_texts = _split_top_level(body, ":")
    if not name or not re.fullmatch(r"[^{}/?*=:]+", name):
        raise RouteTemplateError(f"bad parameter {{{body}}} in route {template!r}")
    constraints = []
    for text in constraint_texts:
        match = re.fullmatch(r"(\w+)(?:\((.*)\))?", text, re.S)
        if match is None:
            raise RouteTemplateError(f"bad constraint {text!r} in route {template!r}")
        args = [] if match.group(2) is None else _constraint_args(match.group(1), match.group(2))
        constraints.append(_build_constraint(match.group(1), args))
    return Parameter(name, optional, catch_all, default, constraints)


def _constraint_args(name: str, text: str) -> list[str]:
    return [text] if name.lower() == "regex" else [arg.strip() for arg in text.split(",")]


def _parse_segment(segment: str, template: str) -> list[Part]:
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if segment.startswith("{{", i) or segment.startswith("}}", i):
            literal.append(char)
            i += 2
            continue
        if char == "}":
            raise RouteTemplateError(f"unbalanced '}}' in route {template!r}")
        if char != "{":
            literal.append(char)
            i += 1
            continue
        end, body = _parameter_end(segment, i + 1, template)
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(_parse_parameter(body, template))
        i = end + 1
    if literal:
        parts.append("".join(literal))
    return parts


def _parameter_end(segment: str, start: int, template: str) -> tuple[int, str]:
    """Index of the closing brace of a parameter; ``{{``/``}}`` inside it are literal braces."""
    body: list[str] = []
    i = start
    while i < len(segment):
        if segment.startswith("{{", i) or segment.startswith("}}", i):
            body.append(segment[i])
            i += 2
        elif segment[i] == "}":
            return i, "".join(body)
        else:
            body.append(segment[i])
            i += 1
    raise RouteTemplateError(f"unclosed '{{' in route {template!r}")


def _precedence_digit(parts: list[Part]) -> int:
    # ASP.NET Core RoutePrecedence.ComputeInbound: lower digits are more specific.
    if len(parts) > 1:
        return 2
    part = parts[0]
    if isinstance(part, str):
        return 1
    digit = 5 if part.catch_all else 3
    return digit - 1 if part.constraints else digit


class RouteTemplate:
    """One function's route, e.g. ``orders/{id:int}/items/{*rest}``."""

    def __init__(self, template: str) -> None:
        self.text = template
        cleaned = template.strip()
        cleaned = cleaned.removeprefix("~")
        cleaned = cleaned.strip("/")
        if "?" in cleaned.replace("?}", ""):
            raise RouteTemplateError(f"route {template!r} must not contain a query string")
        self.segments: list[list[Part]] = []
        if cleaned:
            for segment in cleaned.split("/"):
                if not segment:
                    raise RouteTemplateError(f"empty segment in route {template!r}")
                self.segments.append(_parse_segment(segment, template))
        self._validate()
        self.precedence = sum(
            (
                Decimal(_precedence_digit(parts)) / (Decimal(10) ** index)
                for index, parts in enumerate(self.segments)
            ),
            Decimal(0),
        )

    def _validate(self) -> None:
        names: set[str] = set()
        for index, parts in enumerate(self.segments):
            for position, part in enumerate(parts):
                if isinstance(part, str):
                    continue
                if part.name.lower() in names:
                    raise RouteTemplateError(f"parameter {part.name!r} repeats in {self.text!r}")
                names.add(part.name.lower())
                last_segment = index == len(self.segments) - 1
                if part.catch_all and not (last_segment and len(parts) == 1):
                    raise RouteTemplateError(
                        f"catch-all {{*{part.name}}} must be the last segment of {self.text!r}"
                    )
                if (
                    len(parts) > 1
                    and part.optional
                    and not _optional_at_segment_end(parts, position)
                ):
                    raise RouteTemplateError(
                        f"optional {{{part.name}?}} in a complex segment must come last, after "
                        f"a '.', in {self.text!r}"
                    )
                if position > 0 and not isinstance(parts[position - 1], str):
                    raise RouteTemplateError(
                        f"two parameters in a row need a literal between them in {self.text!r}"
                    )

    def match(self, path: str) -> dict[str, str] | None:
        """Route values (decoded strings) if the raw URL path matches, else None.

        ``path`` is the percent-encoded path after the route prefix; literals compare
        case-insensitively, as in the Functions host.
        """
        trimmed = path.strip("/")
        raw_segments = trimmed.split("/") if trimmed else []
        values: dict[str, str] = {}
        for index, parts in enumerate(self.segments):
            if len(parts) == 1 and isinstance(parts[0], Parameter) and parts[0].catch_all:
                rest = "/".join(unquote(s) for s in raw_segments[index:])
                if rest or parts[0].default is not None:
                    values[parts[0].name] = rest or (parts[0].default or "")
                return values if self._constraints_hold(values) else None
            if index >= len(raw_segments):
                if not self._rest_optional(index, values):
                    return None
                break
            if not self._match_segment(parts, unquote(raw_segments[index]), values):
                return None
        else:
            if len(raw_segments) > len(self.segments):
                return None
        return values if self._constraints_hold(values) else None

    def _rest_optional(self, start: int, values: dict[str, str]) -> bool:
        for parts in self.segments[start:]:
            part = parts[0]
            if len(parts) != 1 or isinstance(part, str):
                return False
            if part.default is not None:
                values[part.name] = part.default
            elif not (part.optional or part.catch_all):
                return False
        return True

    @staticmethod
    def _match_segment(parts: list[Part], segment: str, values: dict[str, str]) -> bool:
        if len(parts) == 1:
            part = parts[0]
            if isinstance(part, str):
                return part.lower() == segment.lower()
            if segment == "":
                return False
            values[part.name] = segment
            return True
        # Complex segment ("{name}.{ext?}"): ASP.NET matches right to left, taking the last
        # occurrence of each literal; greedy groups do the same. An optional last parameter
        # is tried present first.
        attempts = [parts]
        last = parts[-1]
        if isinstance(last, Parameter) and last.optional:
            attempts.append(parts[:-2])
        for attempt in attempts:
            pattern = "".join(
                re.escape(part) if isinstance(part, str) else f"(?P<p{i}>.+)"
                for i, part in enumerate(attempt)
            )
            found = re.fullmatch(pattern, segment, re.I | re.S)
            if found is not None:
                for i, part in enumerate(attempt):
                    if isinstance(part, Parameter):
                        values[part.name] = found.group(f"p{i}")
                return True
        return False

    def _constraints_hold(self, values: dict[str, str]) -> bool:
        for parts in self.segments:
            for part in parts:
                if (
                    isinstance(part, Parameter)
                    and part.name in values
                    and not part.accepts(values[part.name])
                ):
                    return False
        return True

    def __repr__(self) -> str:
        return f"RouteTemplate({self.text!r})"


def _optional_at_segment_end(parts: list[Part], position: int) -> bool:
    previous = parts[position - 1] if position > 0 else None
    return position == len(parts) - 1 and isinstance(previous, str) and previous.endswith(".")
