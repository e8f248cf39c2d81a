"""The business rows this process last committed to one table, with their ETags: a guess that
lets a step on a row only its own saga writes skip the read (see `shared.idempotency`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from shared.idempotency.records import Row

DEFAULT_CAPACITY = 4096


class RowMemory:
    """The latest ``capacity`` rows committed through it, by (partition, row key); thread-safe.

    It is only ever a guess: a step that uses it commits with each recalled row's ETag as its
    condition, so a row someone else changed since fails the batch, and the step reads instead."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("a row memory holds at least one row")
        self._capacity = capacity
        self._rows: OrderedDict[tuple[str, str], Row] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, partition: str, row_keys: Sequence[str]) -> dict[str, Row] | None:
        """Every one of these rows as last committed here, or None if any is not remembered."""
        recalled: dict[str, Row] = {}
        with self._lock:
            for key in row_keys:
                row = self._rows.get((partition, key))
                if row is None:
                    return None
                recalled[key] = Row(dict(row.entity), row.etag)
        return recalled or None

    def remember(self, partition: str, rows: Iterable[tuple[str, Row]]) -> None:
        with self._lock:
            for key, row in rows:
                self._rows[(partition, key)] = row
                self._rows.move_to_end((partition, key))
            while len(self._rows) > self._capacity:
                self._rows.popitem(last=False)

    def forget(self, partition: str, row_keys: Iterable[str]) -> None:
        with self._lock:
            for key in row_keys:
                self._rows.pop((partition, key), None)

    def __len__(self) -> int:
        return len(self._rows)
