"""Migrations: applied at open, from nothing, idempotent, and equal to the tables' model."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.store import RunStore
from bot.store.engine import create_store_engine
from bot.store.migrate import head_revision
from bot.store.tables import metadata
from bot.store.url import async_url
from tests.store.conftest import FakeClock


def _schema_drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_opening_an_empty_database_creates_the_schema_the_tables_describe(
    database_url: str,
) -> None:
    store = await RunStore.open(database_url)
    await store.close()

    assert store.schema.before is None
    assert store.schema.after == head_revision()
    engine = create_store_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
            drift = await connection.run_sync(_schema_drift)
    finally:
        await engine.dispose()
    assert tables == {*metadata.tables, "alembic_version"}
    assert drift == []  # the migrations build exactly what tables.py declares


async def test_reopening_applies_no_migration_and_keeps_the_runs(
    database_url: str, clock: FakeClock
) -> None:
    first = await RunStore.open(database_url, clock=clock)
    run_id = await first.create_run(
        workspace="T1", requester="U1", channel="C1", source="command", goal="compare tea"
    )
    await first.close()

    second = await RunStore.open(database_url, clock=clock)
    try:
        assert not second.schema.upgraded
        assert second.schema.before == head_revision()
        run = await second.get_run(run_id)
        assert run is not None
        assert run.goal == "compare tea"
    finally:
        await second.close()


async def test_the_default_relative_sqlite_url_creates_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = await RunStore.open("sqlite:///data/orchestra.db")
    await store.close()
    assert (tmp_path / "data" / "orchestra.db").is_file()


async def test_an_absolute_sqlite_url_creates_nested_folders(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "orchestra" / "runs.db"
    store = await RunStore.open(f"sqlite:///{path}")
    await store.close()
    assert path.is_file()


async def test_an_in_memory_sqlite_store_works_for_its_lifetime() -> None:
    store = await RunStore.open("sqlite://")
    try:
        run_id = await store.create_run(
            workspace="T1", requester="U1", channel="C1", source="dm", goal="g"
        )
        assert await store.get_run(run_id) is not None
    finally:
        await store.close()
