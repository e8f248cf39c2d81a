"""The Table SDK's pipeline for storage on this machine (Azurite): signing and little else.

A Table call on loopback spent about a tenth of its CPU in policies that do nothing useful
there: a User-Agent built per request, redirects, secondary-location routing and proxy
settings Azurite never needs, and tracing and HTTP logging that no one has switched on. The
SDK takes a client's whole policy list through its public ``policies`` option, so
``loopback_policies`` gives it a short one made of azure-core's public policies and
``SharedKeySigner`` (the Shared Key scheme the Table service documents). Tracing and HTTP
logging are kept when they are switched on (an azure-core tracing implementation, or the SDK's
HTTP logger at INFO) when a client is made. Storage anywhere else keeps the SDK's own pipeline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import (
    ContentDecodePolicy,
    CustomHookPolicy,
    DistributedTracingPolicy,
    HeadersPolicy,
    HttpLoggingPolicy,
    NetworkTraceLoggingPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
)
from azure.core.settings import settings

# The SDK's name for its only location here (LocationMode.PRIMARY, which it does not export).
_PRIMARY = "primary"
# The SDK's own logger for its request and response traces (HttpLoggingPolicy's default).
_HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


class SharedKeySigner(SansIOHTTPPolicy[Any, Any]):
    """Dates and signs each request with the account key: the Table service's Shared Key
    scheme (VERB, Content-MD5, Content-Type, date and the canonical resource, HMAC-SHA256)."""

    def __init__(self, account: str, key: str) -> None:
        super().__init__()
        self._account = account
        self._key = base64.b64decode(key)

    def on_request(self, request: PipelineRequest[Any]) -> None:
        # The SDK's answer parsers read which location answered; its retry policy (which knows
        # of secondary locations) records that, and storage on this machine has only one.
        request.context["location_mode"] = _PRIMARY
        http = request.http_request
        now = formatdate(usegmt=True)
        http.headers["x-ms-date"] = now
        http.headers["Date"] = now
        parts = urlsplit(http.url)
        resource = f"/{self._account}{parts.path}"
        comp = [value for name, value in parse_qsl(parts.query) if name == "comp"]
        if comp:
            resource += f"?comp={comp[0]}"
        headers = http.headers
        text = "\n".join(
            (
                http.method,
                headers.get("Content-MD5") or "",
                headers.get("Content-Type") or "",
                now,
                resource,
            )
        )
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).digest()
        headers["Authorization"] = f"SharedKey {self._account}:{base64.b64encode(digest).decode()}"


def loopback_policies(account: str, key: str, **options: Any) -> list[Any]:
    """The pipeline for a Table client on loopback, in the SDK's order of the same policies."""
    policies: list[Any] = [
        HeadersPolicy(**options),
        SharedKeySigner(account, key),
        ContentDecodePolicy(response_encoding="utf-8"),
        RetryPolicy(**options),
        CustomHookPolicy(**options),
    ]
    if logging.getLogger(_HTTP_LOGGER).isEnabledFor(logging.INFO):
        policies += [NetworkTraceLoggingPolicy(**options), HttpLoggingPolicy(**options)]
    if settings.tracing_implementation() is not None:
        policies.append(DistributedTracingPolicy(**options))
    return policies
