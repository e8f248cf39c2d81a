"""Shipping service data: table `Shipments`, one partition per order with one `shipment` row."""

from __future__ import annotations

import uuid

from services.tables import declared

SHIPMENTS_TABLE = declared("Shipments")
SHIPMENT_ROW = "shipment"
# Fixed namespace: an order's shipment id is uuid5(namespace, orderId), the same on every run.
_SHIPMENT_IDS = uuid.UUID("6f1c2b0e-5d0a-4c7e-9a43-2f8e1d7b9c55")


def shipment_id(order_id: str) -> str:
    """The id of an order's shipment, derived from the order id alone."""
    return str(uuid.uuid5(_SHIPMENT_IDS, order_id))
