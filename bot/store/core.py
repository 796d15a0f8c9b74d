"""What every part of the store shares: the engine, the clock, and write serialization."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.buffer import FLUSH_AFTER_S, Pending, WriteBuffer, write_pending
from bot.store.onehop import InlineConnection, inline
from bot.store.records import RunActuals
from bot.store.tables import runs
from bot.store.url import sqlite_file

logger = logging.getLogger(__name__)

# Commits of the SQLite writer between two WAL checkpoints. SQLite's own default is every
# 1,000 pages (about 4 MB of WAL); a run's commits write a few pages each, so about as often.
CHECKPOINT_EVERY = 200


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

    # Whether this part keeps one connection for its SQLite writes (closed by its `close`).
    _keeps_writer = False

    def __init__(self, engine: AsyncEngine, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock
        # SQLite allows one writer at a time: concurrent asyncio tasks queue here instead of
        # meeting "database is locked". PostgreSQL's row locks need no such help.
        self._write_lock: AbstractAsyncContextManager[None] = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        # Runs' writes that can wait (`bot.store.buffer`), and the timer that writes them.
        self._buffer = WriteBuffer()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        # Runs whose buffered writes a flush has taken and not yet committed, and the event
        # set when it has: a write of such a run waits for it (`_after_flush`).
        self._landing: dict[str, asyncio.Event] = {}
        self._flush_lock = asyncio.Lock()
        # SQLite: the one connection writes go through (they are one at a time anyway);
        # on a file, it runs them on the loop's thread (`onehop.inline`), checkpoints apart.
        self._writer: AsyncConnection | None = None
        self._commits = 0
        self._checkpointing: asyncio.Task[None] | None = None
        # Estimate histories read lately (`RunReads.estimate_history`), by (workspace, effort,
        # limit): until when each may be served again, and the rows.
        self._recent_history: dict[tuple[str, str | None, int], tuple[float, list[RunActuals]]] = {}

    def _now(self) -> datetime:
        """The store's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self._clock(), UTC)

    @contextlib.asynccontextmanager
    async def _write(
        self, fence: Fence | None = None, *, run_ids: Iterable[str] = (), ending: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on exit, rolled back on an exception.

        Under a `fence`, the transaction first locks the run's row and checks that it still
        names the fence's owner and token (`Fenced` if not): a takeover's UPDATE of that row
        waits for this transaction, so the check and the write are one step.

        The buffered writes of `run_ids` (`bot.store.buffer`) land first, in the same
        transaction: a run's writes keep their order, and cost no transaction of their own.
        Their spend lands when `ending` (the runs end or pause) or with the timer."""
        run_ids = list(run_ids)
        await self._after_flush(run_ids)  # before the transaction: the flush needs the row
        async with database_errors(), self._write_lock, self._transaction() as connection:
            if fence is not None and not await _holds(connection, fence):
                raise Fenced(fence.run_id)
            taken = self._buffer.take(run_ids, spend=ending) if run_ids else []
            try:
                await self._write_taken(connection, taken, fence)
                yield connection
            except BaseException:
                self._buffer.give_back(taken)
                raise

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction for a writer holding the write lock. On SQLite one connection is
        kept for them (one writer at a time): a pool checkout and return per write cost
        more CPU than many a write (issue 21.5). A database error drops it."""
        if not self._keeps_writer or self._engine.dialect.name != "sqlite":
            async with self._engine.begin() as connection:
                yield connection
            return
        if self._writer is None:
            self._writer = await self._writer_connection()
        writer = self._writer
        try:
            async with writer.begin():
                yield writer
        except (SQLAlchemyError, OSError):
            self._writer = None
            with contextlib.suppress(SQLAlchemyError, OSError):
                await self._let_go(writer)
            raise
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            self._checkpoint_soon()

    async def _let_go(self, writer: AsyncConnection) -> None:
        """Close an inline writer for good (never back to the pool, where readers would get
        it); return any other to its pool (in memory, the one connection is the database)."""
        raw = await writer.get_raw_connection()
        if isinstance(raw.dbapi_connection, InlineConnection):
            await writer.invalidate()
        else:
            await writer.close()

    async def _writer_connection(self) -> AsyncConnection:
        """The SQLite writer; on a file, inline (its own checkpoints off)."""
        connection = await self._engine.connect()
        if sqlite_file(self._engine.url) is not None:
            raw = await connection.get_raw_connection()
            inline(raw.dbapi_connection)
        return connection

    def _checkpoint_soon(self) -> None:
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = asyncio.create_task(self._checkpoint(), name="store-wal")

    async def _checkpoint(self) -> None:
        """Copy the writer's WAL into the database file, on a pool connection: the copy
        and its fsync happen on aiosqlite's thread, never on the event loop's."""
        try:
            async with database_errors(), self._read() as db:
                await db.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except StoreError:
            logger.warning("run store: WAL checkpoint failed; the next one tries again")

    async def _write_taken(
        self, db: AsyncConnection, taken: list[tuple[str, Pending]], fence: Fence | None
    ) -> None:
        """Buffered writes, each run's only while its fence still holds (`fence` is held)."""
        for run_id, pending in taken:
            if pending.fence is None or pending.fence == fence or await _holds(db, pending.fence):
                await write_pending(db, run_id, pending)

    def _later(self, run_id: str, fence: Fence | None) -> Pending:
        """The run's buffer, for a write that can wait; the timer writes it if nothing else
        does first."""
        self._arm_flush()
        return self._buffer.of(run_id, fence)

    def _arm_flush(self) -> None:
        """Something was buffered: the timer writes it if nothing else does first."""
        if self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(FLUSH_AFTER_S, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_timer = None
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self.flush(), name="store-flush")

    async def flush(self, run_ids: Iterable[str] | None = None) -> None:
        """Write the buffered writes of `run_ids` (None: every run's) now, in one
        transaction. A failure is logged and the writes kept for the next try.

        Raises nothing: these writes are progress, never what a caller waits on."""
        async with self._flush_lock:  # one flush at a time: a later one's writes are newer
            if not self._buffer:
                return
            taken = self._buffer.take(run_ids)
            if not taken:
                return
            landed = asyncio.Event()
            for run_id, _ in taken:
                self._landing[run_id] = landed
            try:
                async with database_errors(), self._write_lock, self._transaction() as db:
                    await self._write_taken(db, taken, None)
            except StoreError:
                self._buffer.give_back(taken)
                logger.warning("run store: progress of %d run(s) not saved yet", len(taken))
            finally:
                for run_id, _ in taken:
                    if self._landing.get(run_id) is landed:
                        del self._landing[run_id]
                landed.set()
        if self._buffer and run_ids is None:
            self._arm_flush()

    async def _after_flush(self, run_ids: Iterable[str]) -> None:
        """Wait until no flush holds writes of `run_ids` it has taken but not committed.

        Those writes are older than the caller's, which must land after them: on PostgreSQL
        two transactions may commit in either order, and a subtask's buffered `running`
        committed after its `done` would make a resume call Claude for it again."""
        for run_id in run_ids:
            while (landing := self._landing.get(run_id)) is not None:
                await landing.wait()

    async def _take_run(self, run_id: str, fence: Fence | None) -> dict[str, Any]:
        """The run's buffered columns, for its synchronous UPDATE (after any flush of them)."""
        await self._after_flush([run_id])
        return self._buffer.take_run(run_id, fence)

    async def _take_subtask(
        self, run_id: str, subtask_id: str, fence: Fence | None
    ) -> dict[str, Any]:
        """A subtask's buffered columns, for its synchronous write (after any flush of them)."""
        await self._after_flush([run_id])
        return self._buffer.take_subtask(run_id, subtask_id, fence)

    async def _close_buffer(self) -> None:
        """At close: the timer stopped, everything buffered written."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._flushing is not None:
            await self._flushing
        await self.flush()  # what fails now is lost with the process, logged
        if self._checkpointing is not None:
            await self._checkpointing
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await self._let_go(writer)

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


async def _holds(db: AsyncConnection, fence: Fence) -> bool:
    """Whether the run's row still names the fence (its row locked until the commit)."""
    held = await db.execute(
        select(runs.c.run_id)
        .where(
            runs.c.run_id == fence.run_id,
            runs.c.owner == fence.owner,
            runs.c.fencing_token == fence.token,
        )
        .with_for_update()  # PostgreSQL's row lock; SQLite has one writer anyway
    )
    return held.first() is not None


@contextlib.asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Every error of the database or its driver, as `StoreDown`. (Drivers raise OSError
    subclasses, timeouts included; SQLAlchemy wraps the rest.)"""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise StoreDown(f"the run store did not answer ({type(exc).__name__})") from exc
