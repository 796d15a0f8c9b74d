"""SQLite statements in one hand-off to aiosqlite's thread (bot/store/onehop.py): the
internals it leans on are there, a write costs two hand-offs and a read one, and errors
still come back as the store's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.store import RunStore, StoreDown
from bot.store.onehop import OneHopConnection


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call aiosqlite runs on its thread from now on, by name."""
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__qualname__", repr(fn)))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


def test_the_aiosqlite_internals_it_uses_are_there() -> None:
    assert callable(aiosqlite.Connection._execute)
    assert isinstance(aiosqlite.Connection._conn, property)


async def test_a_write_is_two_hand_offs_and_a_read_one(
    sqlite_store: RunStore, hand_offs: list[str]
) -> None:
    run_id = await sqlite_store.create_run(
        workspace="T", requester="U1", channel="C1", source="command", goal="tides"
    )
    await sqlite_store.save_plan(run_id, {"goal": "tides"}, [("s1", "r"), ("s2", "r")])
    await sqlite_store.get_run(run_id)  # warm: the pool holds a connection now
    hand_offs.clear()
    await sqlite_store.save_subtask(run_id, "s1", "done", output="Found it.")
    assert len(hand_offs) == 2, hand_offs  # the UPDATE, the commit
    hand_offs.clear()
    await sqlite_store.steers(run_id)
    assert len(hand_offs) == 1, hand_offs  # the SELECT (no rollback: nothing was begun)
    stored = await sqlite_store.get_run(run_id)
    assert stored is not None
    assert [(s.subtask_id, s.state, s.output) for s in stored.subtasks] == [
        ("s1", "done", "Found it."),
        ("s2", "pending", None),
    ]


async def test_connections_are_one_hop_and_errors_are_the_stores(sqlite_store: RunStore) -> None:
    async with sqlite_store._engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)
    run_id = await sqlite_store.create_run(
        workspace="T", requester="U1", channel="C1", source="command", goal="tides"
    )
    with pytest.raises(StoreDown):  # the same id twice: the primary key refuses it
        await sqlite_store.create_run(
            workspace="T",
            requester="U1",
            channel="C1",
            source="command",
            goal="again",
            run_id=run_id,
        )
    stored = await sqlite_store.get_run(run_id)
    assert stored is not None
    assert stored.goal == "tides"  # the failed transaction left nothing behind
