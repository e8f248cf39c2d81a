"""The OpenAPI document is valid OpenAPI 3.1 and in step with the app's HTTP functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import azure.functions as func
import jsonschema
import pytest
from openapi_spec_validator import validate

from api.openapi import document
from devhost.app_loader import load_app

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "put", "post", "delete", "patch")


def routes() -> dict[str, dict[str, Any]]:
    """`/route` -> {method: function} for every HTTP function the app registers."""
    found: dict[str, dict[str, Any]] = {}
    for function in load_app(ROOT).http:
        trigger = function.get_trigger()
        for method in trigger.methods:
            found.setdefault("/" + trigger.route, {})[str(method).lower()] = function
    return found


def schema_of(name: str) -> jsonschema.Draft202012Validator:
    doc = document()
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


class TestDocument:
    def test_it_is_valid_openapi_3_1(self) -> None:
        validate(document())
        assert document()["openapi"].startswith("3.1")

    def test_every_route_is_documented_with_its_methods(self) -> None:
        documented = {
            path: {method for method in item if method in METHODS}
            for path, item in document()["paths"].items()
        }
        registered = {path: set(methods) for path, methods in routes().items()}
        assert documented == registered

    def test_operation_ids_are_the_function_names(self) -> None:
        for path, methods in routes().items():
            for method, function in methods.items():
                operation = document()["paths"][path][method]
                assert operation["operationId"] == function.get_function_name()

    def test_only_anonymous_functions_are_documented_without_security(self) -> None:
        for path, methods in routes().items():
            for method, function in methods.items():
                anonymous = function.get_trigger().auth_level == func.AuthLevel.ANONYMOUS
                operation = document()["paths"][path][method]
                assert (operation.get("security") == []) == anonymous, (method, path)

    def test_path_parameters_match_the_route_template(self) -> None:
        parameters = document()["components"]["parameters"]
        for path, item in document()["paths"].items():
            for method in set(item) & set(METHODS):
                names = {
                    parameters[ref["$ref"].rsplit("/", 1)[1]]["name"]
                    for ref in item[method]["parameters"]
                }
                in_path = {part[1:-1] for part in path.split("/") if part.startswith("{")}
                assert in_path <= names, (method, path)

    @pytest.mark.parametrize(
        ("schema", "body", "valid"),
        [
            ("OrderRequest", {"customerId": "a", "items": [{"sku": "s", "quantity": 1}],
                              "shippingAddress": {"country": "NL"}}, True),
            ("OrderRequest", {"customerId": "a", "items": [{"sku": "s", "quantity": 0}],
                              "shippingAddress": {"country": "NL"}}, False),
            ("OrderRequest", {"customerId": "a b", "items": [{"sku": "s", "quantity": 1}],
                              "shippingAddress": {"country": "NL"}}, False),
            ("OrderRequest", {"customerId": "a", "items": [{"sku": "s", "quantity": 1}],
                              "shippingAddress": {"country": "NL"}, "extra": 1}, False),
            ("ApprovalRequest", {"approved": True, "comment": "fine"}, True),
            ("ApprovalRequest", {"approved": "yes"}, False),
            ("StockRequest", {"available": 0, "unitPriceCents": 0}, True),
            ("StockRequest", {"available": -1, "unitPriceCents": 0}, False),
            ("AccountRequest", {"balanceCents": 2**53}, False),
        ],
    )  # fmt: skip
    def test_the_documented_request_schemas_carry_the_models_limits(
        self, schema: str, body: dict[str, Any], valid: bool
    ) -> None:
        assert schema_of(schema).is_valid(body) is valid
