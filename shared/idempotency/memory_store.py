"""The ledger's store in process memory, thread-safe, with the Table store's semantics."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from datetime import datetime

from shared.idempotency.records import RECORD_PREFIX, Conflict, Op, Row


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], Row] = {}
        self._versions = itertools.count(1)

    def fetch(self, partition: str, row_keys: Sequence[str]) -> dict[str, Row]:
        with self._lock:
            found = {key: self._rows.get((partition, key)) for key in row_keys}
        return {key: Row(dict(row.entity), row.etag) for key, row in found.items() if row}

    def commit(self, partition: str, ops: Sequence[Op]) -> list[str]:
        with self._lock:
            for index, op in enumerate(ops):
                current = self._rows.get((partition, op.entity["RowKey"]))
                if (op.kind == "create" and current is not None) or (
                    op.kind in ("update", "delete") and (current is None or current.etag != op.etag)
                ):
                    raise Conflict(index)
            etags = []
            for op in ops:
                key = (partition, op.entity["RowKey"])
                if op.kind == "delete":
                    del self._rows[key]
                    etags.append("")
                else:
                    etags.append(f'W/"{next(self._versions)}"')
                    self._rows[key] = Row(dict(op.entity), etags[-1])
        return etags

    def snapshot(self) -> dict[tuple[str, str], Row]:
        """Every row by (PartitionKey, RowKey), as of now."""
        with self._lock:
            return dict(self._rows)

    def records_before(self, cutoff: datetime) -> list[tuple[str, str]]:
        with self._lock:
            return [
                key
                for key, row in self._rows.items()
                if key[1].startswith(RECORD_PREFIX) and row.entity["createdAt"] < cutoff
            ]

    def delete(self, partition: str, row_keys: Sequence[str]) -> int:
        with self._lock:
            present = [key for key in dict.fromkeys(row_keys) if (partition, key) in self._rows]
            for key in present:
                del self._rows[(partition, key)]
        return len(present)
