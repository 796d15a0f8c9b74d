"""SQLite statements in one hand-off to aiosqlite's thread (bot/store/onehop.py): the
internals it leans on are there, a read costs one hand-off and a write none (the store's
writer runs on the loop's thread, its WAL checkpoints made elsewhere), and errors still come
back as the store's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event

import bot.store.core
from bot.store import RunStore, StoreDown
from bot.store.onehop import InlineConnection, OneHopConnection


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


async def test_a_write_is_no_hand_off_and_a_read_one(
    sqlite_store: RunStore, hand_offs: list[str]
) -> None:
    run_id = await sqlite_store.create_run(
        workspace="T", requester="U1", channel="C1", source="command", goal="tides"
    )
    await sqlite_store.save_plan(run_id, {"goal": "tides"}, [("s1", "r"), ("s2", "r")])
    await sqlite_store.get_run(run_id)  # warm: the pool holds a connection now
    hand_offs.clear()
    await sqlite_store.save_subtask(run_id, "s1", "done", output="Found it.")
    assert hand_offs == []  # the UPDATE and the commit ran on this thread
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
    await a_failed_write_leaves_the_store_whole(sqlite_store)


async def a_failed_write_leaves_the_store_whole(store: RunStore) -> None:
    """The same run id twice: the primary key refuses it, as the store's error, and the run
    and the store are as they were."""
    run_id = await store.create_run(
        workspace="T", requester="U1", channel="C1", source="command", goal="tides"
    )
    with pytest.raises(StoreDown):
        await store.create_run(
            workspace="T", requester="U1", channel="C1", source="command", goal="x", run_id=run_id
        )
    stored = await store.get_run(run_id)
    assert stored is not None
    assert stored.goal == "tides"  # the failed transaction left nothing behind


async def test_the_writer_makes_no_checkpoint_and_the_store_makes_them_on_a_pool_connection(
    sqlite_store: RunStore, hand_offs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.store.core, "CHECKPOINT_EVERY", 3)
    run_id = await sqlite_store.create_run(
        workspace="T", requester="U1", channel="C1", source="command", goal="tides"
    )
    writer = sqlite_store._writer
    assert writer is not None
    raw = await writer.get_raw_connection()
    assert isinstance(raw.dbapi_connection, InlineConnection)
    sqlite3_writer = raw.dbapi_connection._connection._conn
    assert sqlite3_writer.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    checkpoints: list[str] = []

    def executed(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "wal_checkpoint" in statement:
            checkpoints.append(statement)

    event.listen(sqlite_store._engine.sync_engine, "before_cursor_execute", executed)
    try:
        hand_offs.clear()
        await sqlite_store.save_plan(run_id, {"goal": "tides"}, [("s1", "r")])  # commit 2
        await sqlite_store.save_subtask(run_id, "s1", "done", output="Found it.")  # commit 3
        assert sqlite_store._checkpointing is not None
        await sqlite_store._checkpointing
    finally:
        event.remove(sqlite_store._engine.sync_engine, "before_cursor_execute", executed)
    assert checkpoints == ["PRAGMA wal_checkpoint(PASSIVE)"]
    assert hand_offs, "the checkpoint ran on aiosqlite's thread"


async def test_a_writer_that_failed_is_not_handed_to_readers(sqlite_store: RunStore) -> None:
    await sqlite_store.create_run(
        workspace="T", requester="U1", channel="C1", source="command", goal="x", run_id="r"
    )
    assert sqlite_store._writer is not None
    with pytest.raises(StoreDown):  # the same id again: the primary key refuses it
        await sqlite_store.create_run(
            workspace="T", requester="U1", channel="C1", source="command", goal="x", run_id="r"
        )
    assert sqlite_store._writer is None
    for _ in range(3):  # every pooled connection, none of them inline
        async with sqlite_store._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert type(raw.dbapi_connection) is OneHopConnection


async def test_an_in_memory_store_outlives_a_failed_write() -> None:
    """Its one connection is the database: a failed write returns it, never closes it."""
    store = await RunStore.open("sqlite://")
    try:
        await a_failed_write_leaves_the_store_whole(store)
    finally:
        await store.close()
