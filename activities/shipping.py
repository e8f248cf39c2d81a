"""Shipping service: schedule an order's shipment, the pivot; one partition per order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from azure.durable_functions import Blueprint

from contracts.order import ScheduleShipment, ShipmentScheduled
from services.shipping import SHIPMENT_ROW, SHIPMENTS_TABLE, shipment_id
from shared.idempotency import UnitOfWork
from shared.local_steps import local_action
from shared.saga.outcome import failure, ok
from shared.settings import get_settings

# The durable Blueprint, as func.Blueprint lacks activity_trigger; imported by name because mypy
# rejects `import azure.durable_functions as df` where no typed azure package is imported too.
bp = Blueprint()


def _order(shipment: ScheduleShipment) -> str:
    return shipment.order_id


@bp.activity_trigger(input_name="call")
@local_action(
    ScheduleShipment, table=SHIPMENTS_TABLE, partition=_order, reads=[SHIPMENT_ROW], new_rows=True
)
def schedule_shipment(shipment: ScheduleShipment, uow: UnitOfWork) -> dict[str, Any]:
    """Schedule the order's shipment (the pivot: never compensated); ShippingUnavailable when
    the country is not in SHIPPING_COUNTRIES."""
    if shipment.country not in get_settings().shipping_countries:
        return failure("ShippingUnavailable", f"no shipping to {shipment.country}")
    if uow.get(SHIPMENT_ROW) is not None:
        return failure("ShipmentExists", f"order {shipment.order_id!r} already has one")
    uow.create(
        {
            "RowKey": SHIPMENT_ROW,
            "shipmentId": shipment_id(shipment.order_id),
            "country": shipment.country,
            "status": "Scheduled",
            "createdAt": datetime.now(UTC),
        }
    )
    return ok(ShipmentScheduled(shipment_id=shipment_id(shipment.order_id)))
