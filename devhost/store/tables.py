"""Instance store on Azure Table storage: one partition per instance, a state row + history rows."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from devhost.instance import InstanceState
from devhost.store.state_rows import StateRowWriter

log = logging.getLogger(__name__)
# devhost's own storage requests, which the app's log should not show as its own.
_REQUEST_TRACES = logging.getLogger(f"{__name__}.requests")
_REQUEST_TRACES.setLevel(logging.WARNING)

STATE_ROW = "state"
HISTORY_PREFIX = "h"
# A transaction holds at most 100 operations (Azurite drops the connection on more).
MAX_BATCH_OPS = 100
# A string property holds at most 64 KiB, i.e. 32K UTF-16 code units.
CHUNK_CHARS = 30_000
MAX_ENTITY_BYTES = 1024 * 1024  # measured with the service's own entity size formula
# A transaction's body may not exceed 4 MiB; keep room for the multipart headers of 100 operations.
MAX_BATCH_BYTES = 4 * 1024 * 1024 - 256 * 1024
OPERATION_OVERHEAD_BYTES = 1024
# Recent events ride in the state row up to this many characters of JSON. A single-entity upsert
# costs the client a third of the CPU of the smallest transaction (the SDK builds and parses
# multipart bodies with the email package), and the host saves after every episode.
TAIL_CHARS = 32_000
TABLE_SUFFIX = "Instances"

# Forbidden in keys: / \ # ? and control characters. Also escaped: '%', which the service decodes
# twice in URL paths (point reads, upserts, deletes), the quote, and '~', the escape character.
_KEY_UNSAFE = re.compile("[/\\\\#?%'~\x00-\x1f\x7f-\x9f]")
_KEY_ESCAPE = re.compile("~([0-9A-F]{2})")


def encode_key(text: str) -> str:
    """Make any string a valid PartitionKey/RowKey, reversibly (`~XX`, XX the code point in hex)."""
    return _KEY_UNSAFE.sub(lambda match: f"~{ord(match.group()):02X}", text)


def decode_key(key: str) -> str:
    return _KEY_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), key)


def table_name_for(hub_name: str) -> str:
    """`{hub}Instances` reduced to Table naming rules: ASCII alphanumerics, 3-63, a letter first."""
    hub = "".join(c for c in hub_name if c.isascii() and c.isalnum())
    if not hub[:1].isalpha():
        hub = "t" + hub
    return hub[: 63 - len(TABLE_SUFFIX)] + TABLE_SUFFIX


def history_key(generation: int, index: int) -> str:
    return f"{HISTORY_PREFIX}{generation:010d}-{index:010d}"


def _utf16_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def split_text(text: str) -> list[str]:
    """Cut text into pieces of at most CHUNK_CHARS UTF-16 code units (at least one piece)."""
    # Code points beyond the BMP take two UTF-16 units: halve the step rather than measure each one.
    step = CHUNK_CHARS if _utf16_len(text) == len(text) else CHUNK_CHARS // 2
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def join_text(entity: Mapping[str, Any], prefix: str = "d") -> str:
    """Reassemble the string stored as properties `{prefix}0`, `{prefix}1`, ..."""
    parts: list[str] = []
    while (part := entity.get(f"{prefix}{len(parts)}")) is not None:
        parts.append(part)
    return "".join(parts)


def _dump(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


@dataclass
class _Row:
    """One entity to write, its size by the service's formula and a bound on its wire size."""

    entity: dict[str, Any]
    size: int
    weight: int


def _make_row(
    partition_key: str, row_key: str, texts: Mapping[str, str], numbers: Mapping[str, int]
) -> _Row:
    """Build an entity; each of `texts` (property prefix -> string) is split into chunks."""
    entity: dict[str, Any] = {"PartitionKey": partition_key, "RowKey": row_key, **numbers}
    key_units = _utf16_len(partition_key) + len(row_key)
    size = 4 + 2 * key_units + sum(8 + 2 * len(name) + 4 for name in numbers)
    weight = OPERATION_OVERHEAD_BYTES + 6 * key_units
    for prefix, text in texts.items():
        for i, part in enumerate(split_text(text)):
            name = f"{prefix}{i}"
            entity[name] = part
            units = _utf16_len(part)
            size += 8 + 2 * len(name) + 4 + 2 * units
            # ASCII goes over the wire as one byte, two if JSON-escaped; anything else as \uXXXX.
            weight += 2 * units if part.isascii() else 6 * units
    return _Row(entity, size, weight)


def _pack(rows: list[_Row]) -> list[list[_Row]]:
    """Group rows, in order, into transactions within the operation and body limits."""
    batches: list[list[_Row]] = []
    current: list[_Row] = []
    weight = 0
    for row in rows:
        if current and (len(current) == MAX_BATCH_OPS or weight + row.weight > MAX_BATCH_BYTES):
            batches.append(current)
            current, weight = [], 0
        current.append(row)
        weight += row.weight
    if current:
        batches.append(current)
    return batches


@dataclass
class _Committed:
    """What an instance's state row says: generation, history rows in use, events in its tail."""

    generation: int
    rows: int
    tail: list[str] = field(default_factory=list)  # compact JSON of each event


class TableStore:
    """`InstanceStore` on one table per task hub; a typical save is one single-entity upsert.

    Layout, one partition per instance (PartitionKey = `encode_key(instance_id)`):

    - RowKey `state`: `gen` (history generation), `rows` (history rows in use), the state JSON
      (`InstanceState.to_json`) in `d0`, `d1`, ... and the "tail", a JSON array of the events
      after those rows, in `t0`, `t1`, ... (long strings are split into chunks).
    - RowKey `h{gen:010d}-{index:010d}`: one history event as compact JSON in `d0`, `d1`, ...

    The history is rows `0 .. rows-1` of generation `gen`, then the tail. New events join the tail,
    so a save rewrites only the state row, until the tail's JSON would exceed `tail_chars`
    characters (or the row 1 MiB): then the tail and the new events become history rows, written
    in the transaction that replaces the state row, or, beyond 99 of them, in transactions before
    it. Rows the state row does not count are ignored, so a save is all-or-nothing even then.
    `history_reset` moves to the next generation; older generations' rows are deleted afterwards,
    best-effort. `tail_chars=0` writes every event as a row, in one transaction with the state.

    Limits: the state, and each event, must stay under the service's 1 MiB entity limit (about
    500,000 characters of JSON); a larger one raises `ValueError` and nothing is written.
    This store must be its table's only writer, and saves of one instance must not overlap: it
    remembers each instance's generation, row count and tail between saves.
    """

    def __init__(
        self,
        connection_string: str,
        hub_name: str,
        *,
        tail_chars: int = TAIL_CHARS,
        direct_writes: bool = True,
    ):
        self.table_name = table_name_for(hub_name)
        self._connection_string = connection_string
        self._tail_chars = tail_chars
        self._direct_writes = direct_writes
        self._client: TableClient | None = None
        # State rows with plain keys go straight to the REST API (see devhost.store.state_rows).
        self._writer: StateRowWriter | None = None
        self._committed: dict[str, _Committed] = {}
        # After load_all, an instance this store does not know has no state row in the table.
        self._loaded = False

    @property
    def _table(self) -> TableClient:
        if self._client is None:
            raise RuntimeError("TableStore used before open() or after close()")
        return self._client

    async def open(self) -> None:
        if self._client is not None:
            return
        # use_env_settings=False: azure-core's aiohttp transport otherwise looks up netrc and
        # proxy settings (in executor threads) on every request: half the CPU of a save.
        client = TableClient.from_connection_string(
            self._connection_string,
            table_name=self.table_name,
            use_env_settings=False,
            logger=_REQUEST_TRACES,  # the SDK's HTTP logging policy logs here, not as the app
        )
        try:
            await client.create_table()
        except ResourceExistsError:
            pass
        except BaseException:
            await client.close()
            raise
        self._client = client
        credential = client.credential
        if self._direct_writes and isinstance(credential, AzureNamedKeyCredential):
            self._writer = StateRowWriter(
                client.url,
                self.table_name,
                credential.named_key.name,
                credential.named_key.key,
                client.api_version,
            )

    async def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await writer.close()
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def load_all(self) -> list[InstanceState]:
        partitions: dict[str, dict[str, TableEntity]] = {}
        async for entity in self._table.list_entities():
            partitions.setdefault(entity["PartitionKey"], {})[entity["RowKey"]] = entity
        states: list[InstanceState] = []
        committed: dict[str, _Committed] = {}
        for partition_key, rows in partitions.items():
            state_row = rows.get(STATE_ROW)
            if state_row is None:  # rows of a first save or of a delete that did not finish
                continue
            instance_id = decode_key(partition_key)
            position, tail = _read_state_row(state_row)
            history = []
            for index in range(position.rows):
                row = rows.get(history_key(position.generation, index))
                if row is None:
                    raise ValueError(
                        f"instance {instance_id!r}: history row {index} of generation "
                        f"{position.generation} is missing from table {self.table_name}"
                    )
                history.append(json.loads(join_text(row)))
            history.extend(tail)
            states.append(InstanceState.from_json(join_text(state_row), history))
            committed[instance_id] = position
        self._committed = committed
        self._loaded = True
        return states

    async def save(
        self, state: InstanceState, new_events: list[dict], history_reset: bool = False
    ) -> None:
        instance_id = state.instance_id
        partition_key = encode_key(instance_id)
        previous = await self._position(instance_id, partition_key)
        if previous is None:
            position = _Committed(0, 0)
        elif history_reset:
            position = _Committed(previous.generation + 1, 0)
        else:
            position = _Committed(previous.generation, previous.rows, list(previous.tail))
        position.tail.extend(_dump(event) for event in new_events)
        state_text = state.to_json()
        tail_text = f"[{','.join(position.tail)}]"
        state_row = self._state_row(partition_key, position, state_text, tail_text)
        if len(tail_text) - 2 <= self._tail_chars and state_row.size <= MAX_ENTITY_BYTES:
            if self._writer is not None and self._writer.fits(state_row.entity):
                await self._writer.upsert(state_row.entity)
            else:
                await self._table.upsert_entity(state_row.entity, mode=UpdateMode.REPLACE)
        else:
            first = position.rows
            rows = [
                _make_row(partition_key, history_key(position.generation, first + i), {"d": t}, {})
                for i, t in enumerate(position.tail)
            ]
            position = _Committed(position.generation, first + len(rows))
            rows.append(self._state_row(partition_key, position, state_text, "[]"))
            for i, row in enumerate(rows):
                if row.size > MAX_ENTITY_BYTES:
                    what = "its state" if i == len(rows) - 1 else f"history event {first + i}"
                    raise ValueError(
                        f"instance {instance_id!r}: {what} needs {row.size} bytes, more than "
                        f"the {MAX_ENTITY_BYTES} a Table entity can hold; keep inputs, outputs "
                        "and custom status under about 500,000 characters"
                    )
            # The state row is last: earlier transactions only add rows it does not count yet.
            for batch in _pack(rows):
                await self._submit(
                    [("upsert", row.entity, {"mode": UpdateMode.REPLACE}) for row in batch]
                )
        self._committed[instance_id] = position
        if history_reset and previous is not None and previous.rows:
            await self._delete_older_generations(instance_id, partition_key, position.generation)

    async def delete(self, instance_id: str) -> None:
        partition_key = encode_key(instance_id)
        # Forget first: should this fail halfway, a later save starts the instance afresh.
        self._committed.pop(instance_id, None)
        row_keys = [
            entity["RowKey"]
            async for entity in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": partition_key}, select=["RowKey"]
            )
        ]
        # State row first: once it is gone, leftover history rows are invisible.
        row_keys.sort(key=lambda key: key != STATE_ROW)
        await self._delete_rows(partition_key, row_keys)

    @staticmethod
    def _state_row(
        partition_key: str, position: _Committed, state_text: str, tail_text: str
    ) -> _Row:
        return _make_row(
            partition_key,
            STATE_ROW,
            {"d": state_text, "t": tail_text},
            {"gen": position.generation, "rows": position.rows},
        )

    async def _position(self, instance_id: str, partition_key: str) -> _Committed | None:
        known = self._committed.get(instance_id)
        if known is not None or self._loaded:
            return known
        try:
            entity = await self._table.get_entity(partition_key, STATE_ROW)
        except ResourceNotFoundError:
            return None
        return _read_state_row(entity)[0]

    async def _submit(self, operations: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
        await self._table.submit_transaction(operations)

    async def _delete_rows(self, partition_key: str, row_keys: list[str]) -> None:
        for i in range(0, len(row_keys), MAX_BATCH_OPS):
            await self._submit(
                [
                    ("delete", {"PartitionKey": partition_key, "RowKey": key}, {})
                    for key in row_keys[i : i + MAX_BATCH_OPS]
                ]
            )

    async def _delete_older_generations(
        self, instance_id: str, partition_key: str, generation: int
    ) -> None:
        try:
            stale = [
                entity["RowKey"]
                async for entity in self._table.query_entities(
                    "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                    parameters={
                        "pk": partition_key,
                        "low": HISTORY_PREFIX,
                        "high": history_key(generation, 0),
                    },
                    select=["RowKey"],
                )
            ]
            await self._delete_rows(partition_key, stale)
        except AzureError:
            # The reset is committed and these rows are already invisible; the next reset retries.
            log.warning("could not delete old history of instance %r", instance_id, exc_info=True)


def _read_state_row(state_row: Mapping[str, Any]) -> tuple[_Committed, list[dict[str, Any]]]:
    """The position a state row records, and its tail events."""
    tail = json.loads(join_text(state_row, "t") or "[]")
    texts = [_dump(event) for event in tail]
    return _Committed(state_row["gen"], state_row["rows"], texts), tail
