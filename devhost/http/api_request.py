"""What the durable HTTP API reads of a request: an aiohttp request, or a call made in-process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ApiRequest(Protocol):
    """The part of ``aiohttp.web.Request`` that devhost's durable HTTP API uses; an aiohttp
    request has it, and so does ``devhost.http.local_client.LocalRequest``."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...  # percent-decoded

    @property
    def url(self) -> Any: ...  # absolute yarl.URL

    @property
    def scheme(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...  # case-insensitive names

    @property
    def query(self) -> Mapping[str, str]: ...  # a multi-dict: items() lists repeated names

    @property
    def content_type(self) -> str: ...

    async def read(self) -> bytes: ...
