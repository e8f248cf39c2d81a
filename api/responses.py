"""Response models of the HTTP API: every JSON body is built through one, so the OpenAPI
document generated from them describes exactly what the endpoints send."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.models import OrderStatus
from shared.saga.status import StepStatus


class ResponseModel(BaseModel):
    """camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


class OrderLineView(ResponseModel):
    sku: str
    quantity: int


class StepView(ResponseModel):
    name: str
    status: StepStatus
    attempts: int


class FailureView(ResponseModel):
    """Why the saga stopped going forward, or what an operator must fix."""

    step: str
    code: str
    message: str


class OrderView(ResponseModel):
    """An order: its saga's progress and, once known, its total."""

    order_id: str
    status: OrderStatus
    customer_id: str
    items: list[OrderLineView]
    total_cents: int | None = Field(
        description="Sum of the reservations' amounts once every line is priced (from the "
        "saga's summary, before approval); null until then."
    )
    steps: list[StepView]
    failure: FailureView | None
    attention: FailureView | None = Field(
        description="The compensation an operator must look at (status NeedsAttention)."
    )
    created_at: datetime
    updated_at: datetime


class OrderAccepted(ResponseModel):
    """The answer to a started (or repeated) order."""

    order_id: str
    status: OrderStatus


class OrderList(ResponseModel):
    orders: list[OrderView]


class StockView(ResponseModel):
    sku: str
    available: int
    reserved: int
    unit_price_cents: int


class AccountView(ResponseModel):
    customer_id: str
    balance_cents: int


class Health(ResponseModel):
    status: Literal["ok"]
    storage: Literal["ok"]


class FieldError(ResponseModel):
    """One rejected input: `field` is a body path such as `items[0].quantity`, a header name
    (`Idempotency-Key`), a query or a path parameter."""

    field: str
    message: str


class Problem(ResponseModel):
    """RFC 9457 problem document (`application/problem+json`)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="Present on validation problems: every rejected input."
    )

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
