"""Request models of the HTTP API: strict pydantic models whose limits the OpenAPI document shows.

Every model rejects unknown fields (a typo such as `quantitiy` is an error, not silently dropped)
and takes JSON types as they are: `"2"` is not a quantity and `true` is not a number. JSON has one
number type, so `2.0` is the whole number 2, as JSON Schema's `integer` (and the document) say.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from contracts.order import OrderStatus

MAX_BODY_BYTES = 64 * 1024
MAX_ORDER_LINES = 100
MAX_QUANTITY = 10_000
MAX_AVAILABLE = 1_000_000_000
# Caps keep every total (price x quantity x lines) below 2**53, exact in any JSON client.
MAX_UNIT_PRICE_CENTS = 1_000_000_000
MAX_BALANCE_CENTS = 2**53 - 1
MAX_COMMENT_CHARS = 500
DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 100

# SKUs and customer ids become Table storage keys, which must not hold / \ # ? or controls.
KEY_PATTERN = r"^[A-Za-z0-9._-]+$"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
SINGLE_LINE_PATTERN = r"^[^\x00-\x1F\x7F]+$"


def _whole_float_as_int(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After the bounds in each Annotated, so they stay plain `minimum`/`maximum` in the schema.
WHOLE = BeforeValidator(_whole_float_as_int)
Key = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=KEY_PATTERN)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY), WHOLE]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=SINGLE_LINE_PATTERN)
]
StreetLine = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=SINGLE_LINE_PATTERN)
]
PostalCode = Annotated[
    str, StringConstraints(min_length=1, max_length=20, pattern=SINGLE_LINE_PATTERN)
]


class RequestModel(BaseModel):
    """Strict, camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(strict=True, extra="forbid", alias_generator=to_camel)


class OrderLine(RequestModel):
    """One line of an order."""

    sku: Key
    quantity: Quantity


class ShippingAddress(RequestModel):
    """Where the order goes; only `country` is required (ISO 3166-1 alpha-2)."""

    country: Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN)]
    name: ShortText | None = None
    line1: StreetLine | None = None
    line2: StreetLine | None = None
    city: ShortText | None = None
    postal_code: PostalCode | None = None
    region: ShortText | None = None


class OrderRequest(RequestModel):
    """Body of `POST /api/orders`."""

    customer_id: Key
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_ORDER_LINES)]
    shipping_address: ShippingAddress


class ApprovalRequest(RequestModel):
    """Body of `POST /api/orders/{orderId}/approval`."""

    approved: bool
    comment: Annotated[str, StringConstraints(max_length=MAX_COMMENT_CHARS)] | None = None


class StockRequest(RequestModel):
    """Body of `PUT /api/inventory/{sku}`."""

    available: Annotated[int, Field(ge=0, le=MAX_AVAILABLE), WHOLE]
    unit_price_cents: Annotated[int, Field(ge=0, le=MAX_UNIT_PRICE_CENTS), WHOLE]


class AccountRequest(RequestModel):
    """Body of `PUT /api/accounts/{customerId}`."""

    balance_cents: Annotated[int, Field(ge=0, le=MAX_BALANCE_CENTS), WHOLE]


class ListQuery(BaseModel):
    """Query of `GET /api/orders`; lax, because query values are text, and other parameters
    (such as the function key `code`) are ignored."""

    model_config = ConfigDict(extra="ignore")

    status: OrderStatus | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIST_LIMIT)] = DEFAULT_LIST_LIMIT
