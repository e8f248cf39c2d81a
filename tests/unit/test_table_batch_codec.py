"""The $batch codec: the request body it writes and the answers it reads back."""

from __future__ import annotations

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.rest import HttpRequest

from shared.table_batch import LeanBatchTableClient, decode_batch_response, encode_batch

URL = "http://127.0.0.1:10002/devstoreaccount1/orders"


def test_the_body_holds_one_changeset_with_every_operation_in_order() -> None:
    create = HttpRequest(
        "POST", URL, headers={"Content-Type": "application/json"}, content='{"RowKey": "a"}'
    )
    delete = HttpRequest("DELETE", f"{URL}(PartitionKey='p',RowKey='b')", headers={"If-Match": "*"})
    body = encode_batch("batch_1", "changeset_2", (create, delete)).decode()
    assert body == (
        "--batch_1\r\n"
        "Content-Type: multipart/mixed; boundary=changeset_2\r\n"
        "\r\n"
        "--changeset_2\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "Content-ID: 0\r\n"
        "\r\n"
        f"POST {URL} HTTP/1.1\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 15\r\n"
        "\r\n"
        '{"RowKey": "a"}\r\n'
        "--changeset_2\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "Content-ID: 1\r\n"
        "\r\n"
        f"DELETE {URL}(PartitionKey='p',RowKey='b') HTTP/1.1\r\n"
        "If-Match: *\r\n"
        "\r\n"
        "\r\n"
        "--changeset_2--\r\n"
        "\r\n"
        "--batch_1--\r\n"
    )


def part(status_line: str, headers: list[str], body: str = "") -> str:
    return (
        "--changesetresponse_9\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "\r\n"
        f"{status_line}\r\n" + "".join(f"{line}\r\n" for line in headers) + f"\r\n{body}\r\n"
    )


def response(*parts: str) -> str:
    return (
        "--batchresponse_8\r\n"
        "Content-Type: multipart/mixed; boundary=changesetresponse_9\r\n"
        "\r\n" + "".join(parts) + "--changesetresponse_9--\r\n--batchresponse_8--\r\n"
    )


def test_each_answer_is_read_with_its_status_and_headers() -> None:
    text = response(
        part("HTTP/1.1 201 Created", ["Content-Type: application/json", 'ETag: W/"1"'], "{}"),
        part("HTTP/1.1 204 No Content", ['etag: W/"2"', "DataServiceVersion: 3.0;"]),
    )
    answers = decode_batch_response(text)
    assert [(status, dict(headers), body) for status, headers, body in answers] == [
        (201, {"content-type": "application/json", "etag": 'W/"1"'}, "{}"),
        (204, {"etag": 'W/"2"', "dataserviceversion": "3.0;"}, ""),
    ]


def test_an_error_answer_keeps_its_body() -> None:
    error = '{"odata.error":{"code":"EntityAlreadyExists","message":{"value":"1:exists"}}}'
    text = response(part("HTTP/1.1 409 Conflict", ["Content-Type: application/json"], error))
    [(status, _, body)] = decode_batch_response(text)
    assert (status, body) == (409, error)


def test_a_response_without_answers_is_an_error() -> None:
    with pytest.raises(ValueError, match="no operation answers"):
        decode_batch_response("--batchresponse_8--\r\n")


def test_a_cosmos_endpoint_leaves_its_transactions_to_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cosmos DB's Table API needs merges sent as rewritten POSTs, which only the SDK's own
    builders do, so the lean client does not write those sub-requests itself."""
    import shared.table_batch as table_batch

    def must_not_write(*args: object) -> None:
        raise AssertionError("the lean writer ran for a Cosmos endpoint")

    sent: list[int] = []
    monkeypatch.setattr(table_batch, "sub_requests", must_not_write)
    monkeypatch.setattr(
        LeanBatchTableClient, "_batch_send", lambda self, table, *reqs, **kw: sent.append(len(reqs))
    )
    client = LeanBatchTableClient(
        "https://acct.table.cosmos.azure.com", "t", credential=AzureNamedKeyCredential("a", "a2V5")
    )
    client.submit_transaction([("upsert", {"PartitionKey": "p", "RowKey": "r"})])
    assert sent == [1]
