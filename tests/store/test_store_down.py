"""The store speaks its own errors: whatever the database or its driver raises reaches
callers as `StoreDown` (the cause kept for the log), so nothing outside `bot/store/` needs
SQLAlchemy's errors, and callers catch `StoreDown`, not `Exception`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from bot.store import RunStore, StoreDown, StoreError


async def test_a_database_that_refuses_reaches_callers_as_store_down(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = await RunStore.open(f"sqlite:///{path}")
    try:
        with sqlite3.connect(path) as db:  # the database changes under the store
            db.execute("DROP TABLE subtasks")
            db.execute("DROP TABLE runs")
        with pytest.raises(StoreDown) as read:
            await store.get_run("r1")
        with pytest.raises(StoreDown) as write:
            await store.create_run(
                run_id="r1",
                workspace="T1",
                requester="U1",
                channel="C1",
                source="command",
                goal="g",
                delivery_key=None,
            )
    finally:
        await store.close()
    for raised in (read.value, write.value):
        assert isinstance(raised, StoreError)
        assert isinstance(raised.__cause__, SQLAlchemyError)
