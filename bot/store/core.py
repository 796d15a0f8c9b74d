"""What every part of the store shares: the engine, the clock, and write serialization."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class StoreError(Exception):
    """Base of the run store's own errors."""


class UnknownRun(StoreError, LookupError):
    """No run has this id."""


class UnknownSubtask(StoreError, LookupError):
    """The run has no subtask with this id (was its plan saved?)."""


class StoreCore:
    """The engine, the clock and the rules for transactions, shared by the store's parts."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock
        # SQLite allows one writer at a time: concurrent asyncio tasks queue here instead of
        # meeting "database is locked". PostgreSQL's row locks need no such help.
        self._write_lock: AbstractAsyncContextManager[None] = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    def _now(self) -> datetime:
        """The store's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self._clock(), UTC)

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on exit, rolled back on an exception."""
        async with self._write_lock, self._engine.begin() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (one consistent snapshot per statement at least)."""
        async with self._engine.connect() as connection:
            yield connection

    def _upsert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that can say ON CONFLICT, in this database's dialect."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
