"""Entity-group transactions through the Table SDK, with a lean codec for the $batch body."""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest, HttpResponse
from azure.data.tables import RequestTooLargeError, TableClient, TableTransactionError

from shared.table_operations import sub_requests

# One operation's answer inside the multipart response: its status, headers and body.
_PART = re.compile(r"HTTP/1\.1 (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n(.*?)(?=\r\n--|\Z)", re.S)
_ERROR_VALUE = re.compile(r'"value"\s*:\s*"((?:[^"\\]|\\.)*)"')
_ERROR_CODE = re.compile(r'"code"\s*:\s*"([^"]*)"')
# LeanBatchTableClient overrides the SDK's submit_transaction and a protected method of its
# TableClient. It is used only while that code is exactly the code it was written and tested
# against (azure-data-tables 12.7.0): submit_transaction builds each operation's request with
# TableBatchOperations and hands them to _batch_send(table_name, *requests, **kwargs), which
# returns one metadata mapping each; shared.table_operations writes what those requests hold.
_KNOWN_SDK_SOURCE = {
    "submit_transaction": "8333c3c4d9d81679",
    "_batch_send": "0ada8524fa600705",
}

log = logging.getLogger(__name__)


class _Part(Protocol):
    """What the body needs of an operation's request (an HttpRequest, or a SubRequest)."""

    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> Any: ...


class LeanBatchTableClient(TableClient):
    """A TableClient whose ``submit_transaction`` writes and reads the multipart body itself.

    The SDK still does signing, retries and the error types callers catch, and builds the
    requests of any operation outside the common cases `shared.table_operations` writes. What
    it replaces is the SDK's generic multipart round trip (a thread pool and the email package
    on every call), which costs three times the CPU of a single-entity write, and, for the
    common cases, its per-operation request objects (a sixth of a commit); every saga step
    commits one entity-group transaction, so that cost is paid on every step.
    """

    def submit_transaction(
        self, operations: Iterable[Any], **kwargs: Any
    ) -> list[Mapping[str, Any]]:
        if self._cosmos_endpoint:  # Cosmos DB's Table API wants merges rewritten: the SDK does
            return super().submit_transaction(operations, **kwargs)
        try:
            operations = list(operations)
        except TypeError:  # not iterable: the SDK raises its own error
            return super().submit_transaction(operations, **kwargs)
        account_url = f"{self.scheme}://{self._primary_hostname}"
        parts = sub_requests(account_url, self.table_name, self.api_version, operations)
        if parts is None:
            return super().submit_transaction(operations, **kwargs)
        return self._batch_send(self.table_name, *parts, **kwargs)

    def _batch_send(self, table_name: str, *reqs: _Part, **kwargs: Any) -> list[Any]:
        batch = f"batch_{uuid.uuid4()}"
        request = HttpRequest(
            "POST",
            f"{self.scheme}://{self._primary_hostname}/$batch",
            headers={
                "x-ms-version": self.api_version,
                "DataServiceVersion": "3.0",
                "MaxDataServiceVersion": "3.0;NetFx",
                "Content-Type": f"multipart/mixed; boundary={batch}",
                "Accept": "application/json",
            },
            content=encode_batch(batch, f"changeset_{uuid.uuid4()}", reqs),
        )
        # Streamed, as the SDK does: its content-decoding policy cannot read multipart bodies.
        response = self._client.send_request(request, stream=True, **kwargs)
        response.read()
        if response.status_code == 413:
            raise RequestTooLargeError(
                message="The transaction request was too large", response=response
            )
        if response.status_code != 202:
            raise HttpResponseError(response=response)
        parts = decode_batch_response(response.text())
        if len(parts) != len(reqs) and not any(status >= 300 for status, _, _ in parts):
            raise HttpResponseError(
                message=f"the $batch response held {len(parts)} answers for {len(reqs)} operations",
                response=response,
            )
        for status, _headers, body in parts:
            if status >= 300:
                raise transaction_error(status, body, response)
        # The SDK's answer: each operation's new ETag (none for a delete).
        return [{"etag": headers["etag"]} if "etag" in headers else {} for _, headers, _ in parts]


def sdk_difference(client_class: type[TableClient] = TableClient) -> str | None:
    """What differs in the SDK's transaction code from the code LeanBatchTableClient was written
    against (a method whose source changed, or is gone), or None when nothing does."""
    for name, expected in _KNOWN_SDK_SOURCE.items():
        method = getattr(client_class, name, None)
        try:
            source = inspect.getsource(method) if method is not None else ""
        except (OSError, TypeError):
            source = ""
        if hashlib.sha256(source.encode()).hexdigest()[:16] != expected:
            return f"TableClient.{name} is not the code the lean codec was written against"
    return None


@functools.cache
def table_client_class() -> type[TableClient]:
    """LeanBatchTableClient while the SDK is as expected, else the SDK's own TableClient (the
    public path: correct, if costlier), with one warning saying why."""
    difference = sdk_difference()
    if difference is None:
        return LeanBatchTableClient
    log.warning(
        "Table transactions use the SDK's own client, not the lean codec: %s "
        "(azure-data-tables changed; re-test shared/table_batch.py against it)",
        difference,
    )
    return TableClient


def encode_batch(batch: str, changeset: str, reqs: tuple[_Part, ...]) -> bytes:
    """The $batch body: one changeset holding every operation, in order (Content-ID = index)."""
    lines = [f"--{batch}", f"Content-Type: multipart/mixed; boundary={changeset}", ""]
    for index, req in enumerate(reqs):
        lines += [
            f"--{changeset}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: {index}",
            "",
            f"{req.method} {req.url} HTTP/1.1",
            *(f"{name}: {value}" for name, value in req.headers.items()),
            "",
            _text(req.content),
        ]
    lines += [f"--{changeset}--", "", f"--{batch}--", ""]
    return "\r\n".join(lines).encode()


def decode_batch_response(text: str) -> list[tuple[int, Mapping[str, str], str]]:
    """Each operation's (status, headers with lower-case names, body) from a $batch response."""
    parts: list[tuple[int, Mapping[str, str], str]] = []
    for match in _PART.finditer(text):
        headers = {}
        for line in match.group(2).split("\r\n"):
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        parts.append((int(match.group(1)), headers, match.group(3)))
    if not parts:
        raise ValueError("the $batch response holds no operation answers")
    return parts


def transaction_error(status: int, body: str, response: HttpResponse) -> TableTransactionError:
    """The SDK's error for a rejected transaction; its message starts with the failing index."""
    code_match = _ERROR_CODE.search(body)
    value_match = _ERROR_VALUE.search(body)
    message = value_match.group(1).encode().decode("unicode_escape") if value_match else body
    error = TableTransactionError(message=message, response=response)
    error.status_code = status
    error.error_code = code_match.group(1) if code_match else None  # type: ignore[attr-defined]
    return error


def _text(content: Any) -> str:
    if content is None:
        return ""
    return content.decode() if isinstance(content, bytes) else str(content)
