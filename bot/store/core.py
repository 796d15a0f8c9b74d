"""What every part of the store shares: the engine, the clock, and write serialization."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.tables import runs


class StoreError(Exception):
    """Base of the run store's own errors."""


class StoreDown(StoreError):
    """The database did not answer or refused the statement (connection refused or lost, a
    timeout, a failed transaction): what went wrong is the database's, not the caller's. The
    store's helpers raise it for every driver and SQLAlchemy error, so no caller outside
    `bot.store` needs to know SQLAlchemy (as `RedisDown` stands for every Redis error)."""


class UnknownRun(StoreError, LookupError):
    """No run has this id."""


class UnknownSubtask(StoreError, LookupError):
    """The run has no subtask with this id (was its plan saved?)."""


class Fenced(StoreError):
    """The run has another owner now (a replica took it over): this write is refused."""


@dataclass(frozen=True)
class Fence:
    """A replica's ownership of a run as the store records it: the run's row names `owner`
    and `token`. A write made under a fence lands only while the row still does; a replica
    that takes the run over writes a new owner and a larger token, and from then on every
    write under the old fence is refused (`Fenced`), however late it arrives."""

    run_id: str
    owner: str
    token: int


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
    async def _write(self, fence: Fence | None = None) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on exit, rolled back on an exception.

        Under a `fence`, the transaction first locks the run's row and checks that it still
        names the fence's owner and token (`Fenced` if not): a takeover's UPDATE of that row
        waits for this transaction, so the check and the write are one step."""
        async with database_errors(), self._write_lock, self._engine.begin() as connection:
            if fence is not None:
                held = await connection.execute(
                    select(runs.c.run_id)
                    .where(
                        runs.c.run_id == fence.run_id,
                        runs.c.owner == fence.owner,
                        runs.c.fencing_token == fence.token,
                    )
                    .with_for_update()  # PostgreSQL's row lock; SQLite has one writer anyway
                )
                if held.first() is None:
                    raise Fenced(fence.run_id)
            yield connection

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (one consistent snapshot per statement at least)."""
        async with database_errors(), self._engine.connect() as connection:
            yield connection

    def _upsert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that can say ON CONFLICT, in this database's dialect."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


@contextlib.asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Every error of the database or its driver, as `StoreDown`. (Drivers raise OSError
    subclasses, timeouts included; SQLAlchemy wraps the rest.)"""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise StoreDown(f"the run store did not answer ({type(exc).__name__})") from exc
