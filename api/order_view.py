"""An order as the API shows it, read from its saga's orchestration status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.models import OrderStatus
from api.order_ids import is_order_id
from api.responses import FailureView, OrderView
from contracts.order import priced_total
from shared.json_text import decoded_once
from shared.saga.outcome import EngineCode
from shared.saga.step_entries import step_list

# The orchestrator of each ORDER_SAGA_STYLE: new orders start the configured one, and an order
# keeps running (and is shown) under the one it started with.
ORCHESTRATORS = {"declarative": "order_saga", "imperative": "order_saga_imperative"}
_ORDER_ORCHESTRATORS = frozenset(ORCHESTRATORS.values())
_FAILED_RUNTIME = frozenset({"Failed", "Terminated", "Canceled"})
# Fault texts carry exception types and messages from inside the services (field names, keys,
# table names): logged, not shown. A call the service refused is the app's error, not the
# customer's, so those texts say so rather than name the field or key.
_TECHNICAL = {
    EngineCode.ACTIVITY_FAULT.value: "the step failed with a technical fault on every attempt",
    EngineCode.MALFORMED_RESULT.value: "the step returned a result the saga could not read",
    EngineCode.INVALID_INPUT.value: (
        "an internal error of the app stopped the step (its request was malformed); "
        "the order itself is not at fault"
    ),
    EngineCode.KEY_REUSED.value: (
        "an internal error of the app stopped the step (its request id was reused); "
        "the order itself is not at fault"
    ),
    EngineCode.PERMANENT_FAULT.value: "the step failed with a technical fault retrying cannot fix",
    EngineCode.ORCHESTRATOR_ERROR.value: "the saga stopped on an internal error of the app",
}


async def load_order(client: Any, order_id: str) -> OrderView | None:
    """The order with this id, or None; ids this API never hands out are not looked up."""
    if not is_order_id(order_id):
        return None
    return order_view(await client.get_status(order_id, show_input=True))


def order_view(status: Any) -> OrderView | None:
    """The order, or None when the status is not an order saga's (or no instance at all)."""
    if not status or str(status.name or "").lower() not in _ORDER_ORCHESTRATORS:
        return None
    order = saga_input(status)
    if not isinstance(order.get("customerId"), str):
        return None
    runtime = _runtime(status)
    output = decoded_once(status.output) if runtime == "Completed" else None
    record = output if isinstance(output, dict) else decoded_once(status.custom_status)
    record = record if isinstance(record, dict) else {}
    failure = _failure(record.get("failure"))
    if runtime in _FAILED_RUNTIME:
        state = OrderStatus.FAILED
        failure = failure or FailureView(
            step="saga", code=f"Orchestration{runtime}", message="the saga stopped unexpectedly"
        )
    else:
        state = _status(record.get("status"))
    return OrderView.model_validate(
        {
            "orderId": status.instance_id,
            "status": state,
            "customerId": order["customerId"],
            "items": [_pick(line, "sku", "quantity") for line in order.get("items") or []],
            "totalCents": _total_cents(record, output, order),
            "steps": step_list(record.get("steps")),
            "failure": failure,
            "attention": _failure(record.get("attention")),
            "createdAt": _utc(status.created_time),
            "updatedAt": _utc(status.last_updated_time or status.created_time),
        }
    )


def saga_input(status: Any) -> dict[str, Any]:
    """The saga's input ({} when it has none)."""
    value = decoded_once(status.input_)
    return value if isinstance(value, dict) else {}


def _pick(entry: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: entry.get(name) for name in names}


def _runtime(status: Any) -> str:
    runtime = status.runtime_status
    return str(getattr(runtime, "value", runtime) or "")


def _status(value: Any) -> OrderStatus:
    """Running until the saga publishes its first record."""
    try:
        return OrderStatus(value)
    except ValueError:
        return OrderStatus.RUNNING


def _failure(value: Any) -> FailureView | None:
    if not isinstance(value, dict):
        return None
    code = str(value.get("code", ""))
    message = _TECHNICAL.get(code, str(value.get("message", "")))
    return FailureView(step=str(value.get("step", "")), code=code, message=message)


def _total_cents(record: dict[str, Any], output: Any, order: dict[str, Any]) -> int | None:
    """Known once every line is priced by its reservation: the saga's summary says so as soon
    as the reservations succeed (sagas started before it had one: from their final results)."""
    summary = record.get("summary")
    if isinstance(summary, dict) and "totalCents" in summary:
        total = summary["totalCents"]
        return total if isinstance(total, int) else None
    results = output.get("results") if isinstance(output, dict) else None
    if not isinstance(results, dict):
        return None
    return priced_total(len(order.get("items") or []), results)


def _utc(instant: datetime | None) -> datetime:
    if instant is None:
        return datetime.now(UTC)
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
