"""RowMemory: what a process last committed, recalled all or nothing, bounded, never shared."""

from __future__ import annotations

import pytest

from shared.idempotency.records import Row
from shared.idempotency.row_memory import RowMemory


def row(value: int, etag: str = 'W/"1"') -> Row:
    return Row({"RowKey": "r", "n": value}, etag)


def test_recall_gives_every_row_or_none() -> None:
    memory = RowMemory()
    memory.remember("p", [("a", row(1)), ("b", row(2))])
    assert memory.recall("p", ["a", "b"]) == {"a": row(1), "b": row(2)}
    assert memory.recall("p", ["a", "c"]) is None
    assert memory.recall("other", ["a"]) is None
    assert memory.recall("p", []) is None


def test_the_latest_commit_of_a_row_replaces_the_earlier_one() -> None:
    memory = RowMemory()
    memory.remember("p", [("a", row(1, "e1"))])
    memory.remember("p", [("a", row(2, "e2"))])
    assert memory.recall("p", ["a"]) == {"a": row(2, "e2")}


def test_a_recalled_row_is_a_copy() -> None:
    memory = RowMemory()
    memory.remember("p", [("a", row(1))])
    recalled = memory.recall("p", ["a"])
    assert recalled is not None
    recalled["a"].entity["n"] = 99
    assert memory.recall("p", ["a"]) == {"a": row(1)}


def test_forgotten_rows_are_not_recalled() -> None:
    memory = RowMemory()
    memory.remember("p", [("a", row(1)), ("b", row(2))])
    memory.forget("p", ["a", "missing"])
    assert memory.recall("p", ["a"]) is None
    assert memory.recall("p", ["b"]) == {"b": row(2)}


def test_it_keeps_only_the_latest_rows_up_to_its_capacity() -> None:
    memory = RowMemory(capacity=2)
    memory.remember("p", [("a", row(1)), ("b", row(2))])
    memory.recall("p", ["a"])  # recalling does not refresh: only commits do
    memory.remember("p", [("c", row(3))])
    assert len(memory) == 2
    assert memory.recall("p", ["a"]) is None
    assert memory.recall("p", ["b", "c"]) == {"b": row(2), "c": row(3)}


def test_a_memory_holds_at_least_one_row() -> None:
    with pytest.raises(ValueError, match="at least one row"):
        RowMemory(capacity=0)
