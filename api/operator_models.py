"""Response models of `GET /api/orders/{orderId}/timeline`: a saga drawn as bars on a time axis."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.models import OrderStatus
from api.responses import FailureView, ResponseModel

BarKind = Literal["action", "compensation", "backoff", "gate"]
Outcome = Literal["ok", "failed", "fault", "running", "no-result"]
RowKind = Literal["step", "gate", "fan-out"]


class TimelineBar(ResponseModel):
    """One span of time: an activity attempt, a retry's backoff, or a gate's wait."""

    kind: BarKind
    start_ms: int = Field(description="Milliseconds since the saga started.")
    end_ms: int | None = Field(description="Null while it is still going on.")
    attempt: int = Field(description="The attempt (a backoff: the attempt it waits to start).")
    outcome: Outcome = Field(
        description="ok; failed (a business failure, `code`); fault (the activity raised, and "
        "is retried); running; no-result (the saga stopped waiting for it)."
    )
    code: str | None = None


class TimelineRow(ResponseModel):
    """A step or gate of the saga; a fan-out holds one row per member."""

    name: str
    kind: RowKind
    status: str = Field(description="The step's status in the progress record.")
    attempts: int
    cause: bool = Field(description="Its failure started the compensation.")
    attention: bool = Field(description="An operator must look at it (NeedsAttention).")
    bars: list[TimelineBar] = Field(
        description="A fan-out's are envelopes, from its members' first start to last end."
    )
    members: list[TimelineRow] = Field(default_factory=list)


class TimelineEvent(ResponseModel):
    """A signal the saga received: a decision, a Cancel, an operator's retry."""

    at_ms: int
    name: str
    detail: str | None = None


class AxisSegment(ResponseModel):
    """A piece of the time axis; a compressed one is a long idle stretch drawn narrow."""

    start_ms: int
    end_ms: int
    compressed: bool


class TimelineView(ResponseModel):
    """An order's saga as a timeline, read from its orchestration history."""

    order_id: str
    status: OrderStatus
    started_at: datetime
    end_ms: int = Field(description="The last event, or now while the saga is unfinished.")
    finished: bool
    axis: list[AxisSegment]
    rows: list[TimelineRow]
    events: list[TimelineEvent]
    failure: FailureView | None
    attention: FailureView | None
