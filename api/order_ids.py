"""Order ids (the saga's instance id) and the request fingerprint that makes retries safe."""

from __future__ import annotations

import hashlib
import json
import re
import uuid

from api.models import OrderRequest

ORDER_ID = re.compile(r"o-[0-9a-f]{32}")


def order_id_for(customer_id: str, idempotency_key: str | None) -> str:
    """Derived from the key, scoped to the customer, so one customer's key can never address
    another's order; random without a key."""
    if idempotency_key is None:
        return "o-" + uuid.uuid4().hex
    scoped = f"{customer_id}\n{idempotency_key}".encode()
    return "o-" + hashlib.sha256(scoped).hexdigest()[:32]


def is_order_id(value: str) -> bool:
    """True for ids this API hands out (anything else cannot be an order)."""
    return ORDER_ID.fullmatch(value) is not None


def request_hash(order: OrderRequest) -> str:
    """SHA-256 of the request's canonical JSON (sorted keys, absent and null fields alike)."""
    canonical = json.dumps(
        order.model_dump(mode="json", by_alias=True, exclude_none=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
