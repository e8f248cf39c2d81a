"""Orders service data: table `Orders`, one partition per order with one `order` row."""

from __future__ import annotations

from services.tables import declared

ORDERS_TABLE = declared("Orders")
ORDER_ROW = "order"
PENDING, CANCELLED, CONFIRMED = "Pending", "Cancelled", "Confirmed"
