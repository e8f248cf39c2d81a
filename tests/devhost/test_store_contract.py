"""Instance stores: one contract run on MemoryStore and TableStore, then TableStore specifics."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from azure.data.tables import TableClient
from hypothesis import given
from hypothesis import strategies as st

from devhost.instance import RUNNING, InstanceState, PendingWork
from devhost.store import InstanceStore
from devhost.store.memory import MemoryStore
from devhost.store.state_rows import StateRowWriter
from devhost.store.tables import (
    TAIL_CHARS,
    TableStore,
    decode_key,
    encode_key,
    split_text,
    table_name_for,
)

T = TypeVar("T")
S = TypeVar("S", bound=InstanceStore)

# TableStore variants: events in the state row's tail, every event a row, and a mix of both.
TABLE_TAILS = {"table": TAIL_CHARS, "table-rows": 0, "table-mixed": 400}
# The Table store writes plain-keyed state rows itself (devhost.store.state_rows) or, like any
# other row, through the SDK: the contract holds both ways.
SDK_WRITES = "table-sdk-writes"
ODD_IDS = [
    "a/b",
    "a#b",
    "what?",
    "back\\slash",
    "100%",
    "til~de",
    "it's",
    "tab\tnew\nline\x7f\x85",
    "ünïcødé-注文-😀",
]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class Backend:
    """Storage shared by the stores `new()` makes: each is a fresh process's view of it."""

    new: Callable[[], InstanceStore]


@asynccontextmanager
async def opened(store: S) -> AsyncIterator[S]:
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def reload(backend: Backend) -> dict[str, InstanceState]:
    async with opened(backend.new()) as store:
        return {state.instance_id: state for state in await store.load_all()}


async def append(
    store: InstanceStore, state: InstanceState, events: list[dict], *, reset: bool = False
) -> None:
    """Update the live history as the runtime does, then save it."""
    if reset:
        state.history = []
    state.history.extend(events)
    await store.save(state, events, history_reset=reset)


def make_state(instance_id: str = "order-1", **fields: Any) -> InstanceState:
    created = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    fields.setdefault("input", '{"order_id":"o-1"}')
    return InstanceState(
        instance_id=instance_id,
        name="OrderSaga",
        created_time=created,
        last_updated_time=created + timedelta(seconds=1),
        **fields,
    )


def events(start: int, count: int, payload: str = "") -> list[dict[str, Any]]:
    return [
        {
            "EventType": 4,
            "EventId": i,
            "IsPlayed": False,
            "Timestamp": "2024-05-01T12:00:01.000000Z",
            "Name": "reserve_inventory",
            "Input": f'{{"step":{i},"note":"{payload}"}}',
        }
        for i in range(start, start + count)
    ]


def drop_table(connection_string: str, table_name: str) -> None:
    with TableClient.from_connection_string(connection_string, table_name) as client:
        client.delete_table()


def raw_row_keys(connection_string: str, table_name: str, instance_id: str) -> list[str]:
    with TableClient.from_connection_string(connection_string, table_name) as client:
        rows = client.query_entities(
            "PartitionKey eq @pk", parameters={"pk": encode_key(instance_id)}, select=["RowKey"]
        )
        return sorted(row["RowKey"] for row in rows)


@pytest.fixture(
    params=[
        "memory",
        *(pytest.param(name, marks=pytest.mark.azurite) for name in [*TABLE_TAILS, SDK_WRITES]),
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        memory = MemoryStore()
        yield Backend(lambda: memory)
        return
    connection_string: str = request.getfixturevalue("azurite")
    hub = f"contract{uuid.uuid4().hex[:16]}"
    tail_chars = TABLE_TAILS.get(request.param, TAIL_CHARS)
    direct = request.param != SDK_WRITES
    yield Backend(
        lambda: TableStore(connection_string, hub, tail_chars=tail_chars, direct_writes=direct)
    )
    drop_table(connection_string, table_name_for(hub))


class TestInstanceStoreContract:
    """Every store returns from load_all exactly what its completed saves wrote."""

    def test_state_with_pending_work_and_inbox_round_trips(self, backend: Backend) -> None:
        """All bookkeeping fields, pending work and inbox come back equal."""
        state = make_state(
            runtime_status=RUNNING,
            execution_id="e-1",
            custom_status='"reserving"',
            parent_instance_id="parent/1",
            parent_task_id=3,
            inbox=[{"EventType": 15, "Name": "approved", "Input": '"yes ✓"'}],
            pending={
                "0": PendingWork(
                    kind="activity",
                    task_id=0,
                    name="charge",
                    input='{"total_cents":1999}',
                    max_attempts=3,
                ),
                "1": PendingWork(kind="timer", task_id=1, fire_at="2024-05-01T12:05:00+00:00"),
            },
        )

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                await append(store, state, events(0, 3, payload="é😀\\n\t"))
            return await reload(backend)

        assert run(scenario()) == {"order-1": state}

    def test_history_appended_over_several_saves_loads_in_order(self, backend: Backend) -> None:
        """Events saved in several saves come back in order, after the state of the last save."""
        state = make_state()

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                for save in range(6):
                    state.custom_status = json.dumps({"save": save})
                    await append(store, state, events(save * 7, 7, payload="x" * 40 * save))
            return await reload(backend)

        loaded = run(scenario())
        assert [event["EventId"] for event in loaded["order-1"].history] == list(range(42))
        assert loaded == {"order-1": state}

    def test_store_reloaded_by_load_all_continues_the_history(self, backend: Backend) -> None:
        """A restarted host appends to the history it loaded."""
        state = make_state()

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                await append(store, state, events(0, 30, payload="y" * 30))
            async with opened(backend.new()) as store:
                (restored,) = await store.load_all()
                await append(store, restored, events(30, 30, payload="y" * 30))
                await append(store, restored, events(60, 1))
            return await reload(backend)

        assert [event["EventId"] for event in run(scenario())["order-1"].history] == list(range(61))

    def test_save_without_load_all_appends_to_saved_history(self, backend: Backend) -> None:
        """A store that never loaded still appends after what an earlier store saved."""
        state = make_state()

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                await append(store, state, events(0, 20, payload="z" * 30))
            async with opened(backend.new()) as store:
                await append(store, state, events(20, 5))
            return await reload(backend)

        assert [event["EventId"] for event in run(scenario())["order-1"].history] == list(range(25))

    def test_history_reset_hides_earlier_events(self, backend: Backend) -> None:
        """After a reset only the new history is returned, and appends continue from it."""
        state = make_state()

        async def scenario() -> tuple[dict[str, InstanceState], dict[str, InstanceState]]:
            async with opened(backend.new()) as store:
                await append(store, state, events(0, 40, payload="w" * 30))
                await append(store, state, events(40, 5))
                await append(store, state, events(100, 2), reset=True)
                after_reset = await reload(backend)
                await append(store, state, events(102, 1))
            return after_reset, await reload(backend)

        after_reset, after_append = run(scenario())
        assert [event["EventId"] for event in after_reset["order-1"].history] == [100, 101]
        assert [event["EventId"] for event in after_append["order-1"].history] == [100, 101, 102]

    def test_delete_removes_instance_and_history(self, backend: Backend) -> None:
        """A deleted instance is gone with its history; others and unknown ids are unaffected."""
        kept, doomed = make_state("kept"), make_state("doomed")

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                await append(store, kept, events(0, 2))
                await append(store, doomed, events(0, 150, payload="v" * 30))
                await append(store, doomed, events(150, 1))
                await store.delete("doomed")
                await store.delete("never-existed")
            return await reload(backend)

        assert run(scenario()) == {"kept": kept}

    def test_deleted_id_starts_afresh(self, backend: Backend) -> None:
        """Saving an id again after deleting it shows none of the old history."""

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                await append(store, make_state(), events(0, 120, payload="u" * 30))
                await store.delete("order-1")
                await append(store, make_state(), events(500, 2))
            return await reload(backend)

        history = run(scenario())["order-1"].history
        assert [event["EventId"] for event in history] == [500, 501]

    def test_state_that_shrinks_keeps_no_stale_text(self, backend: Backend) -> None:
        """A long custom status replaced by a short one reads back as the short one."""
        state = make_state(custom_status='"' + "c" * 100_000 + '"')

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                await append(store, state, events(0, 150, payload="q" * 300))
                state.custom_status = '"short"'
                await append(store, state, events(150, 1))
            return await reload(backend)

        assert run(scenario()) == {"order-1": state}

    def test_load_all_returns_every_instance(self, backend: Backend) -> None:
        """load_all returns each saved instance once, with its own history."""
        states = [make_state(f"order-{n}", input=f'"{n}"') for n in range(5)]

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                for n, state in enumerate(states):
                    await append(store, state, events(0, n + 1))
            return await reload(backend)

        assert run(scenario()) == {state.instance_id: state for state in states}

    def test_large_input_and_output_round_trip(self, backend: Backend) -> None:
        """A 200 KB input and output survive, in the state and in history events."""
        big = "".join(chr(ord("a") + n % 26) for n in range(200_000))
        state = make_state(input=f'"{big}"', output=f'"{big[::-1]}"')

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                started = {"EventType": 0, "EventId": -1, "Input": state.input}
                await append(store, state, [started, *events(0, 2)])
                await append(store, state, [{"EventType": 1, "Result": state.output}])
            return await reload(backend)

        assert run(scenario()) == {"order-1": state}

    def test_more_than_a_batch_of_new_events_in_one_save(self, backend: Backend) -> None:
        """Hundreds of events in one save are all returned, in order."""
        state = make_state()

        async def scenario() -> dict[str, InstanceState]:
            async with opened(backend.new()) as store:
                await append(store, state, events(0, 250, payload="t" * 200))
                await append(store, state, events(250, 120))
            return await reload(backend)

        assert [event["EventId"] for event in run(scenario())["order-1"].history] == list(
            range(370)
        )

    def test_instance_ids_with_reserved_characters(self, backend: Backend) -> None:
        """Ids with key-forbidden, escape, control and non-ASCII characters save and delete."""
        states = [make_state(instance_id) for instance_id in ODD_IDS]

        async def scenario() -> tuple[dict[str, InstanceState], dict[str, InstanceState]]:
            async with opened(backend.new()) as store:
                for state in states:
                    await append(store, state, events(0, 3))
                    await append(store, state, events(3, 110, payload="s" * 30))
                saved = await reload(backend)
                for state in states[1:]:
                    await store.delete(state.instance_id)
            return saved, await reload(backend)

        saved, after_delete = run(scenario())
        assert saved == {state.instance_id: state for state in states}
        assert list(after_delete) == [ODD_IDS[0]]


@pytest.fixture
def table_hub(azurite: str) -> Iterator[tuple[str, str]]:
    """A connection string and a task hub name no other test uses; its table is dropped after."""
    hub = f"tables{uuid.uuid4().hex[:16]}"
    yield azurite, hub
    drop_table(azurite, table_name_for(hub))


class SimulatedCrash(Exception):
    pass


@pytest.mark.azurite
class TestTableStore:
    """TableStore specifics: crash atomicity, request count, cleanup and size limits."""

    @pytest.mark.parametrize("reset", [False, True], ids=["append", "reset"])
    @pytest.mark.parametrize("tail_chars", [0, TAIL_CHARS], ids=["rows", "tail"])
    def test_crash_before_state_row_leaves_previous_save(
        self,
        table_hub: tuple[str, str],
        monkeypatch: pytest.MonkeyPatch,
        reset: bool,
        tail_chars: int,
    ) -> None:
        """History rows written without their state row stay invisible; the save can be redone."""
        connection_string, hub = table_hub
        state = make_state()
        fresh = Backend(lambda: TableStore(connection_string, hub))

        async def scenario() -> tuple[dict[str, InstanceState], InstanceState, int]:
            async with opened(TableStore(connection_string, hub, tail_chars=tail_chars)) as store:
                await append(store, state, events(0, 10, payload="r" * 300))
                committed = copy.deepcopy(state)
                submit = store._submit

                async def crash_at_state_row(operations: list[tuple[str, dict, dict]]) -> None:
                    if any(entity["RowKey"] == "state" for _, entity, _ in operations):
                        raise SimulatedCrash
                    await submit(operations)

                monkeypatch.setattr(store, "_submit", crash_at_state_row)
                state.custom_status = '"half-way"'
                with pytest.raises(SimulatedCrash):
                    await append(store, state, events(10, 150, payload="r" * 300), reset=reset)
                after_crash = await reload(fresh)
                rows_written = len(raw_row_keys(connection_string, store.table_name, "order-1"))
                monkeypatch.undo()
                await store.save(state, state.history[-150:], history_reset=reset)
            return after_crash, committed, rows_written

        after_crash, committed, rows_written = run(scenario())
        assert after_crash == {"order-1": committed}
        assert rows_written > 100  # the crash really came after the first history transaction
        assert run(reload(fresh)) == {"order-1": state}

    @pytest.mark.parametrize("tail_chars", [0, TAIL_CHARS], ids=["rows", "tail"])
    def test_typical_save_is_one_request(
        self, table_hub: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tail_chars: int
    ) -> None:
        """An episode's save (state plus a few events) costs a single request."""
        connection_string, hub = table_hub
        requests: list[str] = []

        async def scenario() -> None:
            async with opened(TableStore(connection_string, hub, tail_chars=tail_chars)) as store:
                await store.load_all()
                client = store._table
                for name in ("upsert_entity", "submit_transaction", "get_entity", "create_table"):
                    method = getattr(client, name)
                    monkeypatch.setattr(client, name, counted(requests, name, method))
                writer = store._writer
                assert writer is not None
                monkeypatch.setattr(writer, "upsert", counted(requests, "direct", writer.upsert))
                state = make_state()
                for episode in range(6):
                    await append(store, state, events(episode * 3, 3))

        run(scenario())
        assert len(requests) == 6
        if tail_chars:
            assert requests == ["direct"] * 6, "plain-keyed state rows skip the SDK"

    def test_history_reset_deletes_older_generations(self, table_hub: tuple[str, str]) -> None:
        """After a reset only the new generation's rows and the state row remain."""
        connection_string, hub = table_hub
        state = make_state()

        async def scenario() -> str:
            async with opened(TableStore(connection_string, hub, tail_chars=0)) as store:
                await append(store, state, events(0, 120))
                await append(store, state, events(120, 5))
                await append(store, state, events(0, 3), reset=True)
                return store.table_name

        table_name = run(scenario())
        keys = raw_row_keys(connection_string, table_name, "order-1")
        assert keys == [f"h0000000001-{n:010d}" for n in range(3)] + ["state"]

    def test_delete_removes_every_row(self, table_hub: tuple[str, str]) -> None:
        """delete leaves no row of the partition, whatever generation it belonged to."""
        connection_string, hub = table_hub
        state = make_state("a/b#c?")

        async def scenario() -> str:
            async with opened(TableStore(connection_string, hub, tail_chars=0)) as store:
                await append(store, state, events(0, 150))
                await append(store, state, events(0, 120), reset=True)
                await store.delete(state.instance_id)
                return store.table_name

        assert raw_row_keys(connection_string, run(scenario()), "a/b#c?") == []

    @pytest.mark.parametrize("where", ["state", "event"])
    def test_entity_over_1_mib_raises_value_error_and_writes_nothing(
        self, table_hub: tuple[str, str], where: str
    ) -> None:
        """A state or event too big for one entity is refused up front, naming the instance."""
        connection_string, hub = table_hub
        huge = '"' + "x" * 600_000 + '"'
        state = make_state("too-big", input=huge if where == "state" else None)
        new_events = [{"EventType": 1, "Result": huge}] if where == "event" else []

        async def scenario() -> str:
            async with opened(TableStore(connection_string, hub)) as store:
                with pytest.raises(ValueError, match="'too-big'"):
                    await store.save(state, new_events)
                return store.table_name

        assert raw_row_keys(connection_string, run(scenario()), "too-big") == []


class TestEncoding:
    """Keys, table names and property chunks obey the Table service's rules."""

    @given(st.text())
    def test_key_encoding_is_reversible_and_valid(self, text: str) -> None:
        key = encode_key(text)
        assert decode_key(key) == text
        assert not re.search("[/\\\\#?%\x00-\x1f\x7f-\x9f]", key)

    @given(st.text())
    def test_table_name_follows_naming_rules(self, hub: str) -> None:
        assert re.fullmatch("[A-Za-z][A-Za-z0-9]{2,62}", table_name_for(hub))

    def test_table_name_derives_from_hub(self) -> None:
        assert table_name_for("DurableSaga") == "DurableSagaInstances"
        assert table_name_for("my-hub_1") == "myhub1Instances"
        assert table_name_for("9lives") == "t9livesInstances"

    @given(
        st.text(min_size=0, max_size=70_000, alphabet=st.sampled_from("a\u00e9\u6ce8\U0001f600"))
    )
    def test_split_text_pieces_fit_a_property(self, text: str) -> None:
        pieces = split_text(text)
        assert "".join(pieces) == text
        assert all(len(piece.encode("utf-16-le")) <= 64 * 1024 for piece in pieces)


def counted(log: list[str], name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        log.append(name)
        return await method(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize(
    ("entity", "direct"),
    [
        ({"PartitionKey": "order-1:a_b.c", "RowKey": "state", "gen": 3, "d0": "é{}"}, True),
        ({"PartitionKey": "a~2Fb", "RowKey": "state"}, False),  # an escaped id: the SDK quotes it
        ({"PartitionKey": "has space", "RowKey": "state"}, False),
        ({"PartitionKey": "p", "RowKey": "state", "gen": 2**31}, False),  # an Int64
        ({"PartitionKey": "p", "RowKey": "state", "flag": True}, False),
        ({"PartitionKey": "p", "RowKey": "state", "x": 1.5}, False),
    ],
)
def test_only_plain_state_rows_are_written_directly(entity: dict, direct: bool) -> None:
    assert StateRowWriter.fits(entity) is direct
