"""Reading requests: body size, media type, JSON and models, headers, query and path values,
each rejection a 4xx problem that names every bad field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import azure.functions as func
from pydantic import BaseModel, TypeAdapter, ValidationError

from api.models import IDEMPOTENCY_KEY_PATTERN, MAX_BODY_BYTES, Key, ListQuery
from api.problems import ProblemError, ProblemType
from api.responses import FieldError

M = TypeVar("M", bound=BaseModel)

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_KEY = TypeAdapter(Key)
# pydantic's error types in plain words; `{...}` are the error's context values.
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not an accepted field",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be a JSON array",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "too_short": "must have at least {min_length} entries",
    "too_long": "must have at most {max_length} entries",
    "string_too_short": "must have at least {min_length} character(s)",
    "string_too_long": "must have at most {max_length} characters",
    "string_pattern_mismatch": "must match the pattern {pattern}",
    "enum": "must be one of {expected}",
}


def field_errors(error: ValidationError, root: str = "(body)") -> list[FieldError]:
    """pydantic's errors with camelCase paths such as `items[0].quantity` and plain messages."""
    found = []
    for item in error.errors(include_url=False, include_input=False):
        found.append(FieldError(field=_path(item["loc"]) or root, message=_message(item)))
    return found


def _path(location: Sequence[int | str]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(item: Mapping[str, Any]) -> str:
    template = _MESSAGES.get(item["type"])
    if template is None:
        return str(item["msg"])
    return template.format(**item.get("ctx", {}))


def invalid(errors: list[FieldError]) -> ProblemError:
    names = ", ".join(dict.fromkeys(error.field for error in errors))
    return ProblemError(ProblemType.VALIDATION, f"Invalid input: {names}.", errors)


def json_body(req: func.HttpRequest) -> Any:
    """The body as a JSON value; 413, 415 or 400 when it is too big, not JSON, or malformed."""
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise ProblemError(
            ProblemType.TOO_LARGE, f"The body has {len(body)} bytes; the limit is {MAX_BODY_BYTES}."
        )
    media_type, _, parameters = (req.headers.get("Content-Type") or "").partition(";")
    charset = parameters.lower().replace(" ", "").replace('"', "")
    if media_type.strip().lower() != "application/json" or charset not in ("", "charset=utf-8"):
        raise ProblemError(ProblemType.MEDIA_TYPE, "Send the body as application/json (UTF-8).")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        detail = "The body is empty." if not body.strip() else "The body is not valid JSON."
        raise ProblemError(ProblemType.MALFORMED_JSON, detail) from error


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_model(data: Any, model: type[M], extra: list[FieldError] | None = None) -> M:
    """Validate a JSON value; one 400 lists its errors together with ``extra`` ones."""
    errors = list(extra or [])
    parsed = None
    if not isinstance(data, dict):
        errors.append(FieldError(field="(body)", message="must be a JSON object"))
    else:
        try:
            parsed = model.model_validate(data)
        except ValidationError as error:
            errors.extend(field_errors(error))
    if errors or parsed is None:
        raise invalid(errors)
    return parsed


def read_model(req: func.HttpRequest, model: type[M]) -> M:
    """The body validated as ``model`` (413/415/400 otherwise)."""
    return parse_model(json_body(req), model)


def idempotency_key(req: func.HttpRequest) -> tuple[str | None, list[FieldError]]:
    """The Idempotency-Key header (None when absent) and its error, if it is malformed."""
    key = req.headers.get(IDEMPOTENCY_HEADER)
    if key is None or _IDEMPOTENCY_KEY.fullmatch(key):
        return key, []
    message = "must be 1-100 characters of A-Z a-z 0-9 . _ : -"
    return None, [FieldError(field=IDEMPOTENCY_HEADER, message=message)]


def key_param(req: func.HttpRequest, name: str) -> str:
    """A path parameter that becomes a Table key (a SKU or customer id); 400 when malformed."""
    value = req.route_params.get(name, "")
    try:
        return _KEY.validate_python(value, strict=True)
    except ValidationError as error:
        raise invalid(field_errors(error, root=name)) from error


def list_query(req: func.HttpRequest) -> ListQuery:
    """`status` and `limit` of the order listing; other parameters are ignored."""
    try:
        return ListQuery.model_validate(dict(req.params))
    except ValidationError as error:
        raise invalid(field_errors(error)) from error
