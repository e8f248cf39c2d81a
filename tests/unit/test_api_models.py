"""The HTTP API's input rules: models, body, header, query and path parsing, and the problem
every rejection becomes. Pure: no host, no storage."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.models import (
    MAX_BODY_BYTES,
    AccountRequest,
    ApprovalRequest,
    OrderRequest,
    OrderStatus,
    StockRequest,
)
from api.order_ids import is_order_id, order_id_for
from api.parsing import idempotency_key, json_body, key_param, list_query, parse_model, read_model
from api.problems import ProblemError
from api.saga_ids import request_hash

ORDER: dict[str, Any] = {
    "customerId": "alice",
    "items": [{"sku": "apple", "quantity": 2}],
    "shippingAddress": {"country": "NL"},
}


def request(
    body: bytes | str = b"",
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    route_params: dict[str, str] | None = None,
) -> func.HttpRequest:
    all_headers = dict(headers or {})
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    return func.HttpRequest(
        "POST",
        "http://localhost/api/orders",
        headers=all_headers,
        params=params or {},
        route_params=route_params or {},
        body=body.encode() if isinstance(body, str) else body,
    )


KEY_RULE = "must match the pattern ^[A-Za-z0-9._-]+$"
COUNTRY_RULE = "must match the pattern ^[A-Z]{2}$"
SINGLE_LINE_RULE = "must match the pattern ^[^\\x00-\\x1F\\x7F]+$"
WHOLE = "must be a whole number"
LINE = {"sku": "a", "quantity": 1}


def line(**changes: Any) -> dict[str, Any]:
    return {"items": [{**LINE, **changes}]}


def address(**changes: Any) -> dict[str, Any]:
    return {"shippingAddress": {"country": "NL", **changes}}


def order(**changes: Any) -> dict[str, Any]:
    return {**json.loads(json.dumps(ORDER)), **changes}


def rejection(data: Any, model: type = OrderRequest) -> dict[str, str]:
    """The validation problem's errors as {field: message}."""
    with pytest.raises(ProblemError) as caught:
        parse_model(data, model)
    problem = caught.value
    assert problem.kind.status == 400
    assert problem.errors
    return {error.field: error.message for error in problem.errors}


class TestOrderRequest:
    def test_a_minimal_order_is_accepted(self) -> None:
        parsed = parse_model(order(), OrderRequest)
        assert parsed.customer_id == "alice"
        assert parsed.items[0].quantity == 2
        assert parsed.shipping_address.country == "NL"

    def test_a_full_address_is_accepted(self) -> None:
        address = {
            "country": "DE",
            "name": "Ada",
            "line1": "Hauptstr. 1",
            "line2": "Hinterhaus",
            "city": "Berlin",
            "postalCode": "10115",
            "region": "BE",
        }
        parsed = parse_model(order(shippingAddress=address), OrderRequest)
        assert parsed.shipping_address.postal_code == "10115"

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"customerId": ""}, "customerId", "must have at least 1 character(s)"),
            ({"customerId": "a" * 65}, "customerId", "must have at most 64 characters"),
            ({"customerId": "al/ice"}, "customerId", KEY_RULE),
            ({"customerId": 7}, "customerId", "must be a string"),
            ({"items": []}, "items", "must have at least 1 entries"),
            ({"items": [LINE] * 101}, "items", "must have at most 100 entries"),
            ({"items": LINE}, "items", "must be a JSON array"),
            (line(quantity=0), "items[0].quantity", "must be at least 1"),
            (line(quantity=10_001), "items[0].quantity", "must be at most 10000"),
            (line(quantity=True), "items[0].quantity", WHOLE),
            (line(quantity="2"), "items[0].quantity", WHOLE),
            (line(quantity=2.5), "items[0].quantity", WHOLE),
            (line(sku="a#1"), "items[0].sku", KEY_RULE),
            ({"items": [{"quantity": 1}]}, "items[0].sku", "is required"),
            (line(price=1), "items[0].price", "is not an accepted field"),
            (address(country="nl"), "shippingAddress.country", COUNTRY_RULE),
            (address(country="NLD"), "shippingAddress.country", COUNTRY_RULE),
            ({"shippingAddress": {}}, "shippingAddress.country", "is required"),
            (address(city="x" * 101), "shippingAddress.city", "must have at most 100 characters"),
            (address(city="Ams\nterdam"), "shippingAddress.city", SINGLE_LINE_RULE),
            (address(floor=3), "shippingAddress.floor", "is not an accepted field"),
            ({"shippingAddress": "NL"}, "shippingAddress", "must be a JSON object"),
            ({"coupon": "FREE"}, "coupon", "is not an accepted field"),
        ],
    )
    def test_each_rule_names_the_field_in_camel_case(
        self, changes: dict[str, Any], field: str, message: str
    ) -> None:
        assert rejection(order(**changes)) == {field: message}

    def test_a_whole_number_written_with_a_fraction_is_that_number(self) -> None:
        """JSON Schema counts 2.0 as an integer, so the API takes it too."""
        assert parse_model(order(**line(quantity=2.0)), OrderRequest).items[0].quantity == 2

    def test_every_bad_field_is_reported_at_once(self) -> None:
        data = {"customerId": "", "items": [{"sku": "", "quantity": 0}]}
        assert set(rejection(data)) == {
            "customerId",
            "items[0].sku",
            "items[0].quantity",
            "shippingAddress",
        }

    def test_a_body_that_is_not_an_object_is_rejected(self) -> None:
        assert rejection([ORDER]) == {"(body)": "must be a JSON object"}

    def test_the_detail_lists_the_fields(self) -> None:
        with pytest.raises(ProblemError) as caught:
            parse_model(order(customerId=""), OrderRequest)
        assert caught.value.detail == "Invalid input: customerId."


class TestOtherBodies:
    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({}, "approved"),
            ({"approved": "yes"}, "approved"),
            ({"approved": 1}, "approved"),
            ({"approved": True, "comment": "x" * 501}, "comment"),
            ({"approved": True, "by": "bob"}, "by"),
        ],
    )
    def test_approval_needs_a_boolean_and_a_short_comment(
        self, data: dict[str, Any], field: str
    ) -> None:
        assert list(rejection(data, ApprovalRequest)) == [field]

    def test_approval_comment_is_optional(self) -> None:
        assert parse_model({"approved": False}, ApprovalRequest).comment is None
        parsed = parse_model({"approved": True, "comment": "ok"}, ApprovalRequest)
        assert parsed.comment == "ok"

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"available": -1, "unitPriceCents": 1}, "available"),
            ({"available": 1.5, "unitPriceCents": 1}, "available"),
            ({"available": 1e300, "unitPriceCents": 1}, "available"),
            ({"available": 1, "unitPriceCents": 10**9 + 1}, "unitPriceCents"),
            ({"available": 1}, "unitPriceCents"),
            ({"available": 1, "unitPriceCents": 1, "reserved": 0}, "reserved"),
        ],
    )
    def test_stock_takes_whole_numbers_within_limits(
        self, data: dict[str, Any], field: str
    ) -> None:
        assert list(rejection(data, StockRequest)) == [field]

    def test_zero_stock_and_price_are_allowed(self) -> None:
        stock = parse_model({"available": 0, "unitPriceCents": 0}, StockRequest)
        assert (stock.available, stock.unit_price_cents) == (0, 0)

    @pytest.mark.parametrize("balance", [-1, 2**53, "100", None, False])
    def test_a_balance_is_a_whole_number_of_cents_from_zero(self, balance: Any) -> None:
        assert list(rejection({"balanceCents": balance}, AccountRequest)) == ["balanceCents"]


class TestBody:
    def test_json_is_read(self) -> None:
        assert read_model(request(json.dumps(ORDER)), OrderRequest).customer_id == "alice"

    def test_utf8_charset_is_accepted(self) -> None:
        req = request(json.dumps(ORDER), "application/json; charset=UTF-8")
        assert json_body(req) == ORDER

    def test_a_body_over_the_limit_is_413(self) -> None:
        with pytest.raises(ProblemError) as caught:
            json_body(request(b" " * (MAX_BODY_BYTES + 1)))
        assert caught.value.kind.status == 413

    @pytest.mark.parametrize(
        "content_type", [None, "text/plain", "application/xml", "application/json; charset=latin-1"]
    )
    def test_other_media_types_are_415(self, content_type: str | None) -> None:
        with pytest.raises(ProblemError) as caught:
            json_body(request(json.dumps(ORDER), content_type))
        assert caught.value.kind.status == 415

    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"   ",
            b'{"customerId": "alice"',
            b"{'customerId': 'alice'}",
            b'{"quantity": NaN}',
            b"[Infinity]",
            b'{"customerId": "\xff"}',
            b"[" * 50_000,
        ],
    )
    def test_malformed_json_is_400_without_field_errors(self, body: bytes) -> None:
        with pytest.raises(ProblemError) as caught:
            json_body(request(body))
        assert caught.value.kind.status == 400
        assert caught.value.kind.uri.endswith(":malformed-json")
        assert caught.value.errors is None

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
    def test_any_bytes_are_a_model_or_a_4xx_problem(self, body: bytes) -> None:
        try:
            read_model(request(body), OrderRequest)
        except ProblemError as problem:
            assert 400 <= problem.kind.status < 500

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
        max_leaves=20,
    )

    @settings(max_examples=300, deadline=None)
    @given(
        st.fixed_dictionaries(
            {},
            optional={
                "customerId": json_values,
                "items": st.lists(
                    st.fixed_dictionaries({}, optional=dict.fromkeys(LINE, json_values))
                    | json_values,
                    max_size=3,
                ),
                "shippingAddress": st.fixed_dictionaries({}, optional={"country": json_values})
                | json_values,
            },
        )
    )
    def test_any_json_is_a_model_or_a_400_naming_fields(self, data: dict[str, Any]) -> None:
        try:
            parse_model(data, OrderRequest)
        except ProblemError as problem:
            assert problem.kind.status == 400
            assert problem.errors and all(error.field for error in problem.errors)


class TestHeadersQueryAndPath:
    @pytest.mark.parametrize("key", ["k", "a" * 100, "order-2024.11:retry_1"])
    def test_valid_idempotency_keys(self, key: str) -> None:
        assert idempotency_key(request(headers={"Idempotency-Key": key})) == (key, [])

    def test_the_idempotency_key_is_optional(self) -> None:
        assert idempotency_key(request()) == (None, [])

    @pytest.mark.parametrize("key", ["", "a" * 101, "a b", "a/b", "ключ", "a,b"])
    def test_malformed_idempotency_keys_are_field_errors(self, key: str) -> None:
        found, errors = idempotency_key(request(headers={"Idempotency-Key": key}))
        assert found is None
        assert [error.field for error in errors] == ["Idempotency-Key"]

    def test_a_bad_key_is_reported_with_the_body_errors(self) -> None:
        _, key_errors = idempotency_key(request(headers={"Idempotency-Key": "a b"}))
        with pytest.raises(ProblemError) as caught:
            parse_model(order(customerId=""), OrderRequest, key_errors)
        assert [e.field for e in caught.value.errors or []] == ["Idempotency-Key", "customerId"]

    def test_list_query_defaults_and_ignores_other_parameters(self) -> None:
        query = list_query(request(params={"code": "function-key"}))
        assert (query.status, query.limit) == (None, 20)
        query = list_query(request(params={"status": "NeedsAttention", "limit": "100"}))
        assert (query.status, query.limit) == (OrderStatus.NEEDS_ATTENTION, 100)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"status": "running"}, "status"),
            ({"status": "Pending"}, "status"),
            ({"limit": "0"}, "limit"),
            ({"limit": "101"}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"limit": "1.5"}, "limit"),
        ],
    )
    def test_bad_list_queries_are_400(self, params: dict[str, str], field: str) -> None:
        with pytest.raises(ProblemError) as caught:
            list_query(request(params=params))
        assert [error.field for error in caught.value.errors or []] == [field]

    @pytest.mark.parametrize("sku", ["", "a b", "a/b", "a" * 65, "ä"])
    def test_path_keys_must_be_safe_table_keys(self, sku: str) -> None:
        with pytest.raises(ProblemError) as caught:
            key_param(request(route_params={"sku": sku}), "sku")
        assert [error.field for error in caught.value.errors or []] == ["sku"]

    def test_a_safe_path_key_is_returned(self) -> None:
        assert key_param(request(route_params={"sku": "apple-1.b_2"}), "sku") == "apple-1.b_2"


class TestOrderIds:
    def test_an_idempotency_key_gives_a_stable_id(self) -> None:
        assert order_id_for("alice", "k1") == order_id_for("alice", "k1")
        assert is_order_id(order_id_for("alice", "k1"))

    def test_the_id_is_scoped_to_the_customer(self) -> None:
        assert order_id_for("alice", "k1") != order_id_for("bob", "k1")

    def test_without_a_key_every_id_is_new(self) -> None:
        first, second = order_id_for("alice", None), order_id_for("alice", None)
        assert first != second
        assert is_order_id(first) and is_order_id(second)

    @pytest.mark.parametrize("value", ["order-1", "o-XYZ", "o-" + "a" * 31, "../o-" + "a" * 32])
    def test_other_ids_are_not_order_ids(self, value: str) -> None:
        assert not is_order_id(value)

    def test_the_request_hash_ignores_absent_versus_null_and_key_order(self) -> None:
        plain = parse_model(order(), OrderRequest)
        with_nulls = parse_model(
            {
                "shippingAddress": {"city": None, "country": "NL"},
                "items": [{"quantity": 2, "sku": "apple"}],
                "customerId": "alice",
            },
            OrderRequest,
        )
        assert request_hash(plain) == request_hash(with_nulls)

    def test_the_request_hash_changes_with_the_request(self) -> None:
        changed = order(items=[{"sku": "apple", "quantity": 3}])
        first = request_hash(parse_model(order(), OrderRequest))
        assert first != request_hash(parse_model(changed, OrderRequest))
