"""Order ids: the order saga's instance ids, `o-` and 32 hex digits."""

from __future__ import annotations

import re

from api.saga_ids import saga_id_for

ORDER_ID = re.compile(r"o-[0-9a-f]{32}")


def order_id_for(customer_id: str, idempotency_key: str | None) -> str:
    """Derived from the key, scoped to the customer, so one customer's key can never address
    another's order; random without a key."""
    return saga_id_for("o-", customer_id, idempotency_key)


def is_order_id(value: str) -> bool:
    """True for ids this API hands out (anything else cannot be an order)."""
    return ORDER_ID.fullmatch(value) is not None
