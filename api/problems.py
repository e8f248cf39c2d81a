"""Problem documents (RFC 9457): every error the API answers, and the guard that turns any
exception into one without leaking internals."""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import aiohttp
import azure.functions as func
from azure.core.exceptions import ServiceRequestError, ServiceResponseError

from api.responses import FieldError, Problem
from shared.errors import SagaError

log = logging.getLogger("api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:durable-saga:problem:"


class ProblemType(Enum):
    """Each problem's type (a URN: these name kinds of error, nothing to fetch) and title."""

    VALIDATION = ("validation-error", "The request is not valid", 400)
    MALFORMED_JSON = ("malformed-json", "The body is not valid JSON", 400)
    NOT_FOUND = ("not-found", "Not found", 404)
    IDEMPOTENCY_CONFLICT = ("idempotency-key-reused", "Idempotency key reused", 409)
    STATE_CONFLICT = ("order-state-conflict", "The order is not in a state that allows this", 409)
    SAGA_STATE_CONFLICT = ("saga-state-conflict", "The saga is not in a state allowing this", 409)
    TOO_LARGE = ("payload-too-large", "The body is too large", 413)
    MEDIA_TYPE = ("unsupported-media-type", "Unsupported media type", 415)
    INTERNAL = ("internal-error", "Internal error", 500)
    UNAVAILABLE = ("service-unavailable", "Service unavailable", 503)

    def __init__(self, slug: str, title: str, status: int) -> None:
        self.uri = TYPE_PREFIX + slug
        self.title = title
        self.status = status


class ProblemError(Exception):
    """Raised by a handler to answer with a problem document."""

    def __init__(
        self,
        kind: ProblemType,
        detail: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> func.HttpResponse:
        problem = Problem(
            type=self.kind.uri,
            title=self.kind.title,
            status=self.kind.status,
            detail=self.detail,
            errors=self.errors,
        )
        return func.HttpResponse(
            json.dumps(problem.to_json()),
            status_code=self.kind.status,
            headers=self.headers,
            mimetype=PROBLEM_MEDIA_TYPE,
        )


def not_found(detail: str) -> ProblemError:
    return ProblemError(ProblemType.NOT_FOUND, detail)


def json_response(body: object, status_code: int = 200, **headers: str) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body),
        status_code=status_code,
        headers=headers,
        mimetype="application/json",
    )


# A saga step takes milliseconds to seconds: polling faster only loads the host.
POLL_AFTER_SECONDS = 1


def accepted(body: object, location: str) -> func.HttpResponse:
    """202: the URL to follow the saga at, and how long to wait before the first look."""
    headers = {"Location": location, "Retry-After": str(POLL_AFTER_SECONDS)}
    return json_response(body, 202, **headers)


# Storage or the durable extension cannot be reached: worth retrying, not the caller's fault.
_UNAVAILABLE = (ServiceRequestError, ServiceResponseError, aiohttp.ClientError, TimeoutError)


def _answer(error: Exception, function: str) -> func.HttpResponse:
    if isinstance(error, ProblemError):
        return error.response()
    retryable = isinstance(error, _UNAVAILABLE) or (
        isinstance(error, SagaError) and error.retryable
    )
    # The detail stays generic: exception text may name tables, hosts or keys.
    log.exception("%s failed", function)
    if retryable:
        kind, detail = ProblemType.UNAVAILABLE, "A backing service is unavailable; retry later."
        return ProblemError(kind, detail, headers={"Retry-After": "5"}).response()
    return ProblemError(ProblemType.INTERNAL, "The request could not be completed.").response()


F = TypeVar("F", bound=Callable[..., Any])


def guarded(function: F) -> F:
    """Answer a ProblemError with its document and any other exception with a 500 (503 when
    a backing service is unreachable), logged; sync and async handlers alike."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def guard_async(*args: Any, **kwargs: Any) -> func.HttpResponse:
            try:
                response: func.HttpResponse = await function(*args, **kwargs)
                return response
            except Exception as error:
                return _answer(error, function.__name__)

        return guard_async  # type: ignore[return-value]

    @functools.wraps(function)
    def guard(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            response: func.HttpResponse = function(*args, **kwargs)
            return response
        except Exception as error:
            return _answer(error, function.__name__)

    return guard  # type: ignore[return-value]
