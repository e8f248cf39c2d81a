"""LoopbackTransport: the Table SDK over it answers as over its own transport (Azurite),
survives a closed keep-alive connection, and fails as azure-core's transports fail."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest
from azure.data.tables import EdmType, EntityProperty, TableClient, UpdateMode

from shared import storage
from shared.loopback_transport import LoopbackTransport

pytestmark = pytest.mark.azurite


@pytest.fixture
def names() -> str:
    return f"loop{uuid.uuid4().hex[:12]}"


@pytest.fixture
def transport() -> LoopbackTransport:
    return LoopbackTransport()


@pytest.fixture
def pair(
    azurite: str, names: str, transport: LoopbackTransport
) -> Iterator[tuple[TableClient, TableClient]]:
    """The same table through the SDK's transport and through LoopbackTransport."""
    sdk = TableClient.from_connection_string(azurite, table_name=names, use_env_settings=False)
    lean = TableClient.from_connection_string(
        azurite, table_name=names, use_env_settings=False, transport=transport
    )
    sdk.create_table()
    yield sdk, lean
    sdk.delete_table()
    sdk.close()
    lean.close()


def test_reads_writes_and_queries_match_the_sdk_transport(
    pair: tuple[TableClient, TableClient],
) -> None:
    sdk, lean = pair
    big = EntityProperty(2**40, EdmType.INT64)
    entity: dict[str, Any] = {"PartitionKey": "p", "RowKey": "it's é", "n": big, "s": "x" * 40}
    lean.create_entity(entity)
    for client in pair:
        got = client.get_entity("p", "it's é")
        assert got["n"].value == 2**40 and got["s"] == "x" * 40
    lean.upsert_entity({**entity, "s": "y"}, mode=UpdateMode.MERGE)
    assert sdk.get_entity("p", "it's é")["s"] == "y"
    for i in range(30):
        sdk.create_entity({"PartitionKey": "q", "RowKey": f"r{i:02d}"})
    # Pages of 7: the continuation headers come back through LoopbackResponse.headers.
    pages = lean.query_entities("PartitionKey eq @pk", parameters={"pk": "q"}, results_per_page=7)
    assert [e["RowKey"] for e in pages] == [f"r{i:02d}" for i in range(30)]


def test_service_errors_are_the_sdk_errors(pair: tuple[TableClient, TableClient]) -> None:
    _, lean = pair
    with pytest.raises(ResourceNotFoundError):
        lean.get_entity("p", "absent")
    lean.create_entity({"PartitionKey": "p", "RowKey": "once"})
    with pytest.raises(ResourceExistsError):
        lean.create_entity({"PartitionKey": "p", "RowKey": "once"})


def test_calls_in_a_row_share_one_keep_alive_connection(
    pair: tuple[TableClient, TableClient], transport: LoopbackTransport
) -> None:
    _, lean = pair
    lean.create_entity({"PartitionKey": "p", "RowKey": "k"})
    (first,) = transport._connections().values()
    socket_before = first.sock
    for _ in range(3):
        lean.get_entity("p", "k")
    assert list(transport._connections().values()) == [first]
    assert first.sock is socket_before is not None


def test_a_connection_the_server_closed_is_replaced_without_an_error(
    pair: tuple[TableClient, TableClient], transport: LoopbackTransport
) -> None:
    """As when Azurite drops an idle keep-alive connection: the next call reconnects."""
    _, lean = pair
    lean.create_entity({"PartitionKey": "p", "RowKey": "a"})
    for connection in transport._connections().values():
        assert connection.sock is not None
        connection.sock.shutdown(socket.SHUT_RDWR)  # the peer sees the connection end
    assert lean.get_entity("p", "a")["RowKey"] == "a"


def test_a_connection_closed_after_an_answer_is_opened_again(
    pair: tuple[TableClient, TableClient], transport: LoopbackTransport
) -> None:
    """As after an answer with `Connection: close`: the transport closed it, the next call
    opens another."""
    _, lean = pair
    lean.create_entity({"PartitionKey": "p", "RowKey": "b"})
    for connection in transport._connections().values():
        connection.close()
    assert lean.get_entity("p", "b")["RowKey"] == "b"


def test_threads_have_connections_of_their_own(pair: tuple[TableClient, TableClient]) -> None:
    _, lean = pair
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                lean.upsert_entity({"PartitionKey": f"t{n}", "RowKey": f"{i}", "v": i})
                assert lean.get_entity(f"t{n}", f"{i}")["v"] == i
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_nothing_listening_is_a_request_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ServiceRequestError):
        LoopbackTransport().send(HttpRequest("GET", f"http://127.0.0.1:{port}/x"))


def test_a_server_that_never_answers_is_a_response_timeout() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}/x"
        with pytest.raises(ServiceResponseError):
            LoopbackTransport().send(HttpRequest("GET", url), read_timeout=0.2)


def _serve_once(answer: bytes) -> tuple[str, list[bytes]]:
    """A server on loopback that reads one request, writes ``answer`` raw, and closes; the URL
    and, once it has run, the request it read."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    requests: list[bytes] = []

    def serve() -> None:
        with server, server.accept()[0] as peer:
            request = b""
            while b"\r\n\r\n" not in request:
                request += peer.recv(4096)
            requests.append(request)
            peer.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/x?y=1", requests


@pytest.mark.parametrize(
    ("method", "answer", "content"),
    [
        ("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde"
         b"\r\n0\r\n\r\n", b"abcde"),
        ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", b"ok"),
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", b""),
    ],
)  # fmt: skip
def test_answers_are_read_whole_and_a_closing_connection_is_not_kept(
    method: str, answer: bytes, content: bytes
) -> None:
    url, requests = _serve_once(answer)
    transport = LoopbackTransport()
    response = transport.send(HttpRequest(method, url, headers={"x-ms-a": "b"}), read_timeout=5)
    assert (response.status_code, response.reason, response.content) == (200, "OK", content)
    assert requests[0].startswith(f"{method} /x?y=1 HTTP/1.1\r\n".encode())
    assert b"\r\nx-ms-a: b\r\n" in requests[0] and b"\r\nHost: 127.0.0.1:" in requests[0]
    # Chunked and HEAD answers leave the connection open (the server closes it after);
    # `Connection: close` makes the transport drop it at once.
    kept = [c for c in transport._connections().values() if c.sock is not None]
    assert len(kept) == (0 if b"close" in answer else 1)


def test_an_answer_cut_short_is_a_response_error() -> None:
    url, _ = _serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(ServiceResponseError):
        LoopbackTransport().send(HttpRequest("GET", url), read_timeout=5)


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:10002/x", "http://example.com/x", "http://10.0.0.1:10002/x"]
)
def test_only_plain_http_on_loopback_is_sent(url: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        LoopbackTransport().send(HttpRequest("GET", url))


@pytest.mark.parametrize(
    ("connection_string", "loopback"),
    [
        ("UseDevelopmentStorage=true", True),
        ("AccountName=a;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/a;", True),
        ("AccountName=a;AccountKey=a2V5;TableEndpoint=https://localhost:10002/a;", False),
        ("DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;"
         "EndpointSuffix=core.windows.net", False),
    ],
)  # fmt: skip
def test_only_plain_http_storage_on_this_machine_gets_the_loopback_transport(
    connection_string: str, loopback: bool
) -> None:
    options = storage.client_options(connection_string)
    assert isinstance(options.get("transport"), LoopbackTransport) is loopback


class _Sent(Exception):
    """Raised by the request hook: the request was built, and goes no further."""


@pytest.mark.parametrize(
    ("connection_string", "request_id"),
    [
        ("AccountName=a;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/a;", False),
        ("DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;"
         "EndpointSuffix=core.windows.net", True),
    ],
)  # fmt: skip
def test_only_storage_elsewhere_gets_a_client_request_id(
    connection_string: str, request_id: bool
) -> None:
    """The id only finds a request in Azure's storage logs; on this machine its uuid1 was a
    sixth of a request's CPU. Seen through azure-core's public per-request hook."""
    sent: dict[str, str] = {}

    def hook(request: Any) -> None:
        sent.update(request.http_request.headers)
        raise _Sent

    client = TableClient.from_connection_string(
        connection_string, "t", **storage.client_options(connection_string)
    )
    with pytest.raises(_Sent):
        client.get_entity("p", "r", raw_request_hook=hook)
    assert "Authorization" in sent
    assert ("x-ms-client-request-id" in sent) is request_id
