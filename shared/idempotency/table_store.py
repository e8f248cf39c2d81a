"""The ledger's store on an Azure Table: one query to read, one entity-group batch to commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import (
    EdmType,
    EntityProperty,
    TableClient,
    TableEntity,
    TableTransactionError,
    UpdateMode,
)

from shared.idempotency.records import (
    MAX_BATCH_OPS,
    RECORD_PREFIX,
    RECORDS_END,
    Conflict,
    Entity,
    Op,
    Row,
)

_CONFLICTS = {"EntityAlreadyExists", "UpdateConditionNotSatisfied", "ResourceNotFound"}


class TableStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def fetch(self, partition: str, row_keys: Sequence[str]) -> dict[str, Row]:
        keys = list(dict.fromkeys(row_keys))
        if len(keys) == 1:
            try:
                return {keys[0]: _row_from_table(self._table.get_entity(partition, keys[0]))}
            except ResourceNotFoundError:
                return {}
        parameters = {"pk": partition, **{f"r{i}": key for i, key in enumerate(keys)}}
        any_key = " or ".join(f"RowKey eq @r{i}" for i in range(len(keys)))
        # The SDK substitutes only @names standing alone between spaces, hence "( ... )".
        found = self._table.query_entities(
            f"PartitionKey eq @pk and ( {any_key} )", parameters=parameters
        )
        return {entity["RowKey"]: _row_from_table(entity) for entity in found}

    def commit(self, partition: str, ops: Sequence[Op]) -> list[str]:
        try:
            answers = self._table.submit_transaction([_table_operation(op) for op in ops])
        except TableTransactionError as error:
            if _error_code(error) in _CONFLICTS:
                raise Conflict(error.index) from error
            raise
        return [str(answer.get("etag") or "") for answer in answers]

    def records_before(self, cutoff: datetime) -> list[tuple[str, str]]:
        # A scan of the whole table, keys only: the retention job's query, run once a day.
        expired = self._table.query_entities(
            "RowKey ge @first and RowKey lt @after and createdAt lt @cutoff",
            parameters={"first": RECORD_PREFIX, "after": RECORDS_END, "cutoff": cutoff},
            select=["PartitionKey", "RowKey"],
        )
        return [(entity["PartitionKey"], entity["RowKey"]) for entity in expired]

    def delete(self, partition: str, row_keys: Sequence[str]) -> int:
        """Delete these rows (a 100-row batch at a time); how many are gone now."""
        keys = list(dict.fromkeys(row_keys))
        return sum(
            self._delete(partition, keys[start : start + MAX_BATCH_OPS])
            for start in range(0, len(keys), MAX_BATCH_OPS)
        )

    def _delete(self, partition: str, row_keys: list[str]) -> int:
        entities = [{"PartitionKey": partition, "RowKey": key} for key in row_keys]
        try:
            self._table.submit_transaction([("delete", entity) for entity in entities])
            return len(entities)
        except TableTransactionError as error:
            if _error_code(error) != "ResourceNotFound":
                raise
        # Some were gone already (another purge): one by one; delete_entity ignores a 404.
        for key in row_keys:
            self._table.delete_entity(partition, key)
        return len(row_keys)


def _row_from_table(entity: TableEntity) -> Row:
    # 64-bit integers come back wrapped; hand callers plain ints, as they stored them.
    values = {k: v.value if isinstance(v, EntityProperty) else v for k, v in entity.items()}
    return Row(values, entity.metadata.get("etag") or "")


def _table_operation(op: Op) -> tuple[str, Entity, dict[str, Any]]:
    # The SDK sends every int as a 32-bit Edm.Int32 unless told otherwise.
    entity = {
        name: EntityProperty(value, EdmType.INT64) if _beyond_int32(value) else value
        for name, value in op.entity.items()
    }
    options: dict[str, Any] = {}
    if op.kind in ("update", "delete"):
        options = {"etag": op.etag, "match_condition": MatchConditions.IfNotModified}
    if op.kind in ("update", "upsert"):
        options["mode"] = UpdateMode.REPLACE
    return op.kind, entity, options


def _beyond_int32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not -(2**31) <= value < 2**31


def _error_code(error: TableTransactionError) -> str:
    code = getattr(error, "error_code", None)
    return str(getattr(code, "value", code))
