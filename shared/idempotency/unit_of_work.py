"""A unit of work: the rows one transaction read, and the writes it stages for the batch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.idempotency.records import PROPERTY_TYPES, Entity, Op, Row, Store, check_key

UNREAD = Row({}, "")  # marks a row the unit of work has not read


class UnitOfWork:
    """One partition's rows as a transaction read them, and the writes it stages for the batch."""

    def __init__(self, store: Store, partition: str, read: dict[str, Row | None]) -> None:
        self.partition = partition
        self._store = store
        self._read = read
        self._staged: dict[str, Op] = {}

    def get(self, row_key: str) -> Entity | None:
        """The row as stored (staged writes are not visible), or None if there is none."""
        check_key("row key", row_key, business=True)
        row = self._read_row(row_key)
        return dict(row.entity) if row else None

    def create(self, entity: Mapping[str, Any]) -> None:
        """Stage inserting a row that `get` found absent."""
        full = self._complete(entity)
        if self._read.get(full["RowKey"], UNREAD) is not None:
            raise ValueError(f"create {full['RowKey']!r}: get() it first and find it absent")
        self._stage(Op("create", full))

    def update(self, entity: Mapping[str, Any]) -> None:
        """Stage replacing a row `get` returned, provided nobody has changed it since."""
        full = self._complete(entity)
        self._stage(Op("update", full, self._etag_read("update", full["RowKey"])))

    def upsert(self, entity: Mapping[str, Any]) -> None:
        """Stage inserting or replacing a row whatever it holds now (last writer wins)."""
        self._stage(Op("upsert", self._complete(entity)))

    def delete(self, row_key: str) -> None:
        """Stage deleting a row `get` returned, provided nobody has changed it since."""
        check_key("row key", row_key, business=True)
        keys = {"PartitionKey": self.partition, "RowKey": row_key}
        self._stage(Op("delete", keys, self._etag_read("delete", row_key)))

    def _read_row(self, row_key: str) -> Row | None:
        if row_key not in self._read:
            self._read[row_key] = self._store.fetch(self.partition, [row_key]).get(row_key)
        return self._read[row_key]

    def _etag_read(self, verb: str, row_key: str) -> str:
        row = self._read.get(row_key, UNREAD)
        if row is None or row is UNREAD:
            raise ValueError(f"{verb} {row_key!r}: get() it first and find it present")
        return row.etag

    def _complete(self, entity: Mapping[str, Any]) -> Entity:
        row_key = entity.get("RowKey")
        check_key("row key", row_key, business=True)
        if entity.get("PartitionKey", self.partition) != self.partition:
            raise ValueError(f"row {row_key!r} is not in partition {self.partition!r}")
        for name, value in entity.items():
            if not isinstance(value, PROPERTY_TYPES) or (
                isinstance(value, int) and not -(2**63) <= value < 2**63
            ):
                raise TypeError(
                    f"property {name!r} of row {row_key!r} is a {type(value).__name__}; Table "
                    "storage holds str, int (64 bits), float, bool, datetime, bytes and UUID"
                )
        return {**entity, "PartitionKey": self.partition}

    def _stage(self, op: Op) -> None:
        row_key = op.entity["RowKey"]
        if row_key in self._staged:
            raise ValueError(f"row {row_key!r} is staged twice; stage each row once")
        self._staged[row_key] = op
