"""Saga instance ids derived from an Idempotency-Key, and the request fingerprint of a start."""

from __future__ import annotations

import hashlib
import json
import uuid

from pydantic import BaseModel


def saga_id_for(prefix: str, owner: str, idempotency_key: str | None) -> str:
    """``{prefix}`` and 32 hex digits derived from the key, scoped to its owner (a customer, an
    account), so one owner's key can never address another's saga; random without a key."""
    if idempotency_key is None:
        return prefix + uuid.uuid4().hex
    scoped = f"{owner}\n{idempotency_key}".encode()
    return prefix + hashlib.sha256(scoped).hexdigest()[:32]


def request_hash(request: BaseModel) -> str:
    """SHA-256 of the request's canonical JSON (sorted keys, absent and null fields alike)."""
    canonical = json.dumps(
        request.model_dump(mode="json", by_alias=True, exclude_none=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
