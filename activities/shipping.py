"""Shipping service: schedule an order's shipment, the pivot; table `Shipments`, one per order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from azure.durable_functions import Blueprint

from shared.chaos import chaotic
from shared.idempotency import UnitOfWork
from shared.ledgers import ledger_for, reply
from shared.models import ScheduleShipment, StepCall
from shared.saga.activity import saga_activity
from shared.saga.outcome import failure, ok
from shared.settings import get_settings

SHIPMENTS_TABLE = "Shipments"
SHIPMENT_ROW = "shipment"
# Fixed namespace: an order's shipment id is uuid5(namespace, orderId), the same on every run.
_SHIPMENT_IDS = uuid.UUID("6f1c2b0e-5d0a-4c7e-9a43-2f8e1d7b9c55")

# The durable Blueprint, as func.Blueprint lacks activity_trigger; imported by name because mypy
# rejects `import azure.durable_functions as df` where no typed azure package is imported too.
bp = Blueprint()


def shipment_id(order_id: str) -> str:
    """The id of an order's shipment, derived from the order id alone."""
    return str(uuid.uuid5(_SHIPMENT_IDS, order_id))


@bp.activity_trigger(input_name="call")
@saga_activity
@chaotic
def schedule_shipment(call: dict) -> dict[str, Any]:
    """Schedule the order's shipment (the pivot: never compensated); ShippingUnavailable when
    the country is not in SHIPPING_COUNTRIES."""
    step = StepCall.parse(call, ScheduleShipment)
    shipment = step.input
    countries = get_settings().shipping_countries

    def transaction(uow: UnitOfWork) -> dict[str, Any]:
        if shipment.country not in countries:
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
        return ok({"shipmentId": shipment_id(shipment.order_id)})

    record = ledger_for(SHIPMENTS_TABLE).run_once(
        shipment.order_id,
        step.key,
        transaction,
        reads=[SHIPMENT_ROW],
        request=shipment.to_json(),
        new_rows=True,
    )
    return reply(record)
