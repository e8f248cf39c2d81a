"""The OpenAPI 3.1 document, generated from the pydantic models that validate requests and
build responses (so its limits and shapes cannot drift from the code), served anonymously at
`GET /api/openapi.json`. `python -m api.openapi` prints it."""

from __future__ import annotations

import functools
import json
from typing import Any

import azure.functions as func
from azure.durable_functions import Blueprint
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from api import models, responses
from api.openapi_paths import PATHS, PROBLEM, saga_paths
from api.operator_models import TimelineView
from api.order_ids import ORDER_ID
from api.parsing import IDEMPOTENCY_HEADER
from api.problems import ProblemType, guarded, json_response
from api.sagas import SagaAccepted, view_model
from contracts import public_sagas

REQUESTS: list[type[BaseModel]] = [
    models.OrderRequest,
    models.ApprovalRequest,
    models.StockRequest,
    models.AccountRequest,
]
RESPONSES: list[type[BaseModel]] = [
    responses.OrderAccepted,
    responses.OrderView,
    responses.OrderList,
    responses.StockView,
    responses.AccountView,
    responses.Health,
    responses.Problem,
    SagaAccepted,
    TimelineView,
]
PROBLEM_RESPONSES = {
    "400": "Invalid input: `errors` lists each rejected field (malformed-json has none).",
    "404": "No such resource.",
    "409": "idempotency-key-reused, or order-state-conflict: the order's status does not "
    "allow this.",
    "413": "The body exceeds the size limit.",
    "415": "The body is not `application/json` (UTF-8).",
    "500": "An unexpected error; details are logged, never returned.",
    "503": "Storage or the durable host is unreachable; retry after `Retry-After` seconds.",
}


class _NoFieldTitles(GenerateJsonSchema):
    """Property titles would only repeat the property names."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _schemas() -> dict[str, Any]:
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((model, "validation") for model in REQUESTS),
        *((model, "serialization") for model in RESPONSES),
        *((public.request, "validation") for public in public_sagas),
        *((view_model(public), "serialization") for public in public_sagas),
    ]
    _, schema = models_json_schema(
        pairs,
        by_alias=True,
        ref_template="#/components/schemas/{model}",
        schema_generator=_NoFieldTitles,
    )
    defs: dict[str, Any] = schema["$defs"]
    defs["Problem"]["properties"]["type"]["enum"] = [kind.uri for kind in ProblemType]
    return defs


def _parameters() -> dict[str, Any]:
    key = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": models.KEY_PATTERN}
    return {
        "OrderId": _param(
            "orderId",
            "path",
            {"type": "string", "pattern": f"^{ORDER_ID.pattern}$"},
            "The order id, as `POST /orders` handed it out; any other id is unknown (404).",
        ),
        **{
            f"{public.name.capitalize()}Id": _param(
                "id",
                "path",
                {"type": "string", "pattern": f"^{public.id_pattern}$"},
                f"The {public.name} saga's id, as its start handed it out (any other: 404).",
            )
            for public in public_sagas
        },
        "Sku": _param("sku", "path", key, "The SKU."),
        "CustomerId": _param("customerId", "path", key, "The customer id."),
        "IdempotencyKey": _param(
            IDEMPOTENCY_HEADER,
            "header",
            {"type": "string", "pattern": models.IDEMPOTENCY_KEY_PATTERN},
            "Repeat the same request with the same key to get the same order, never a "
            "second one; the order id is derived from it and the customer id.",
            required=False,
        ),
        "Status": _param(
            "status",
            "query",
            {"$ref": "#/components/schemas/PublicStatus"},
            "Only orders in this status.",
            required=False,
        ),
        "Limit": _param(
            "limit",
            "query",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": models.MAX_LIST_LIMIT,
                "default": models.DEFAULT_LIST_LIMIT,
            },
            "How many orders at most.",
            required=False,
        ),
    }


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, required: bool = True
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": schema,
    }


def _problem_responses() -> dict[str, Any]:
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    retry_after = {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}}
    return {
        status: {"description": description, "content": problem}
        | ({"headers": retry_after} if status == "503" else {})
        for status, description in PROBLEM_RESPONSES.items()
    }


def _saga_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for public in public_sagas:
        request, view = public.request.__name__, view_model(public).__name__
        paths |= saga_paths(public.name, request, view, public.approval_event is not None)
    return paths


@functools.cache
def document() -> dict[str, Any]:
    """The whole document (built once per process)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Durable Saga orders API",
            "version": "1.0.0",
            "description": "Orders placed through a saga across inventory, payments and "
            "shipping, and every other registered saga under /sagas/{name}. Errors are RFC 9457 "
            "problem documents.",
        },
        "servers": [{"url": "/api"}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": {**PATHS, **_saga_paths()},
        "components": {
            "schemas": _schemas(),
            "parameters": _parameters(),
            "responses": _problem_responses(),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
    }


bp = Blueprint()


@bp.route(route="openapi.json", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
@guarded
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """This API's OpenAPI 3.1 document."""
    return json_response(document())


if __name__ == "__main__":
    print(json.dumps(document(), indent=2))
