"""The OpenAPI `paths` of the API: one operation per HTTP function (operationId = its name)."""

from __future__ import annotations

from typing import Any

from api.models import MAX_BODY_BYTES

JSON = "application/json"
HTML = "text/html"
PROBLEM = "application/problem+json"
POLL_AGAIN = {
    "Retry-After": {
        "description": "While the saga is unfinished: seconds to wait before looking again, "
        "its age in seconds from 1 to 30 (absent once it has finished).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 30},
    },
}
ORDER_LOCATION = {
    "Location": {
        "description": "The order's URL, `/api/orders/{orderId}`.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before polling the order's URL.",
        "required": True,
        "schema": {"type": "integer"},
    },
}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _ok(schema: str, description: str, status: str = "200", **headers: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {JSON: {"schema": _ref("schemas", schema)}},
    }
    if headers:
        response["headers"] = headers
    return {status: response}


def _page(description: str) -> dict[str, Any]:
    return {"200": {"description": description, "content": {HTML: {"schema": {"type": "string"}}}}}


def _body(schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": f"JSON, at most {MAX_BODY_BYTES} bytes; unknown fields are rejected.",
        "content": {JSON: {"schema": _ref("schemas", schema)}},
    }


def _op(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    errors: tuple[str, ...],
    *,
    parameters: tuple[str, ...] = (),
    body: str | None = None,
    anonymous: bool = False,
) -> dict[str, Any]:
    """An operation; every one may also answer 500 and 503."""
    if body is not None:
        errors = (*errors, "413", "415")
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_ref("parameters", name) for name in parameters],
        "responses": {
            **responses,
            **{status: _ref("responses", status) for status in (*errors, "500", "503")},
        },
    }
    if body is not None:
        operation["requestBody"] = _body(body)
    if anonymous:
        operation["security"] = []
    return operation


PATHS: dict[str, dict[str, Any]] = {
    "/orders": {
        "post": _op(
            "orders_create",
            "Place an order: starts its saga (the order id is the saga's instance id).",
            _ok(
                "OrderAccepted",
                "Started, or the order this Idempotency-Key already started with the same request.",
                "202",
                **ORDER_LOCATION,
            ),
            ("400", "409"),
            parameters=("IdempotencyKey",),
            body="OrderRequest",
        ),
        "get": _op(
            "orders_list",
            "Orders, newest first.",
            _ok("OrderList", "The newest `limit` orders (of `status`, if given)."),
            ("400",),
            parameters=("Status", "Limit"),
        ),
    },
    "/orders/{orderId}": {
        "get": _op(
            "orders_get",
            "An order and its saga's progress.",
            _ok("OrderView", "The order.", "200", **POLL_AGAIN),
            ("404",),
            parameters=("OrderId",),
        ),
    },
    "/orders/{orderId}/cancel": {
        "post": _op(
            "orders_cancel",
            "Cancel an unfinished order: before the pivot (shipment) its saga compensates and "
            "ends Cancelled; after it, the order completes; a saga already compensating ends "
            "Compensated. 409 once the order has finished.",
            _ok(
                "OrderAccepted",
                "The Cancel request was delivered to the saga.",
                "202",
                **ORDER_LOCATION,
            ),
            ("404", "409"),
            parameters=("OrderId",),
        ),
    },
    "/orders/{orderId}/approval": {
        "post": _op(
            "orders_approval",
            "Approve or reject an order in AwaitingApproval (409 in any other status).",
            _ok(
                "OrderAccepted", "The decision was delivered to the saga.", "202", **ORDER_LOCATION
            ),
            ("400", "404", "409"),
            parameters=("OrderId",),
            body="ApprovalRequest",
        ),
    },
    "/orders/{orderId}/retry-compensation": {
        "post": _op(
            "orders_retry_compensation",
            "Operator: retry the compensation of an order in NeedsAttention (409 otherwise).",
            _ok(
                "OrderAccepted",
                "The retry signal was delivered to the saga.",
                "202",
                **ORDER_LOCATION,
            ),
            ("404", "409"),
            parameters=("OrderId",),
        ),
    },
    "/orders/{orderId}/timeline": {
        "get": _op(
            "orders_timeline",
            "The order's saga as bars on a time axis, read from its orchestration history: "
            "each attempt of each step and compensation, retry waits, the approval wait, the "
            "signals received; fan-outs hold a row per member.",
            _ok("TimelineView", "The timeline."),
            ("404",),
            parameters=("OrderId",),
        ),
    },
    "/operator": {
        "get": _op(
            "operator_list_page",
            "Operator page: the orders, those waiting for a person first (HTML).",
            _page("The page; it calls this API with the `code` it was opened with."),
            (),
        ),
    },
    "/operator/orders/{orderId}": {
        "get": _op(
            "operator_order_page",
            "Operator page: one order, its saga timeline and the actions its status allows (HTML).",
            _page("The page; it calls this API with the `code` it was opened with."),
            ("404",),
            parameters=("OrderId",),
        ),
    },
    "/inventory/{sku}": {
        "put": _op(
            "inventory_put",
            "Set a SKU's available quantity and unit price (reservations are kept).",
            _ok("StockView", "The SKU's stock."),
            ("400",),
            parameters=("Sku",),
            body="StockRequest",
        ),
        "get": _op(
            "inventory_get",
            "A SKU's stock and price.",
            _ok("StockView", "The SKU's stock."),
            ("400", "404"),
            parameters=("Sku",),
        ),
    },
    "/accounts/{customerId}": {
        "put": _op(
            "accounts_put",
            "Create or replace a customer's account.",
            _ok("AccountView", "The account."),
            ("400",),
            parameters=("CustomerId",),
            body="AccountRequest",
        ),
        "get": _op(
            "accounts_get",
            "A customer's balance.",
            _ok("AccountView", "The account."),
            ("400", "404"),
            parameters=("CustomerId",),
        ),
    },
    "/health": {
        "get": _op(
            "health",
            "Whether the app can reach its storage (anonymous).",
            _ok("Health", "Storage answered."),
            (),
            anonymous=True,
        ),
    },
    "/openapi.json": {
        "get": _op(
            "openapi_document",
            "This document (anonymous).",
            {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {JSON: {"schema": {"type": "object"}}},
                }
            },
            (),
            anonymous=True,
        ),
    },
}


def saga_paths(name: str, request: str, view: str, approval: bool) -> dict[str, dict[str, Any]]:
    """The paths of one public saga (api/sagas.py): ``name`` is its URL segment, ``request``,
    ``view`` the schemas of its start body and its view, ``approval`` whether it has a gate."""
    base = f"/sagas/{name}"
    param = f"{name.capitalize()}Id"
    location = {
        "Location": {
            "description": f"The saga's URL, `/api{base}/{{id}}`.",
            "required": True,
            "schema": {"type": "string"},
        },
        "Retry-After": ORDER_LOCATION["Retry-After"],
    }

    def signalled(what: str) -> dict[str, Any]:
        return _ok("SagaAccepted", f"The {what} was delivered to the saga.", "202", **location)

    paths: dict[str, dict[str, Any]] = {
        base: {
            "post": _op(
                f"{name}_start",
                f"Start a {name} saga (its id is derived from the Idempotency-Key).",
                _ok(
                    "SagaAccepted",
                    "Started, or the saga this Idempotency-Key already started with the same "
                    "request.",
                    "202",
                    **location,
                ),
                ("400", "409"),
                parameters=("IdempotencyKey",),
                body=request,
            ),
        },
        f"{base}/{{id}}": {
            "get": _op(
                f"{name}_get",
                f"A {name} saga and its progress.",
                _ok(view, "The saga.", "200", **POLL_AGAIN),
                ("404",),
                parameters=(param,),
            ),
        },
        f"{base}/{{id}}/cancel": {
            "post": _op(
                f"{name}_cancel",
                "Cancel it: before its pivot it compensates and ends Cancelled; after it, it "
                "completes. 409 once it has finished.",
                signalled("Cancel request"),
                ("404", "409"),
                parameters=(param,),
            ),
        },
        f"{base}/{{id}}/retry-compensation": {
            "post": _op(
                f"{name}_retry_compensation",
                "Operator: retry the compensation of a saga in NeedsAttention (409 otherwise).",
                signalled("retry signal"),
                ("404", "409"),
                parameters=(param,),
            ),
        },
    }
    if approval:
        paths[f"{base}/{{id}}/approval"] = {
            "post": _op(
                f"{name}_approval",
                "Approve or reject a saga in AwaitingApproval (409 in any other status).",
                signalled("decision"),
                ("400", "404", "409"),
                parameters=(param,),
                body="ApprovalRequest",
            ),
        }
    return paths
