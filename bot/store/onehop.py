"""SQLite statements in one thread hand-off each (issue 21.5).

aiosqlite runs each sqlite3 call in its own thread, and SQLAlchemy's adapter makes five of
those calls for a one-statement write (open a cursor, execute, close it, commit, and the
pool's rollback) and as many for a read: every one a queue hand-off and a wake-up of the
event loop, about two thirds of what a store write cost in CPU (`bench/PROFILE_NOTES.md`).
Here a statement's cursor is opened, executed, read and closed in one call on aiosqlite's
thread, and a commit or rollback with no transaction open is skipped (sqlite3 would do
nothing), so a write is two hand-offs and a read one.

The store's one SQLite writer goes further (`inline`): its statements and commits run on
the event loop's own thread, with no hand-off at all. A run's small indexed writes take
SQLite tens of microseconds, less than a hand-off costs in CPU, and nothing makes them wait:
the store lets one writer in at a time (`StoreCore._write_lock`), one process per file
(`bot.store.file_lock`), WAL readers never block it, and with `synchronous=NORMAL` a commit
does not fsync. The one slow thing a commit can do, a WAL checkpoint, is turned off on it and
made on another connection, off the loop (`StoreCore._checkpoint_soon`).

This leans on two internals SQLAlchemy's own adapter uses too (aiosqlite 0.21's
`Connection._execute` and `_conn`); `tests/store/test_onehop.py` pins them.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util.concurrency import await_

T = TypeVar("T")


class _Ran:
    """What a cursor leaves after its statement ran (its sqlite3 cursor is closed)."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(
        self, description: Any = None, rowcount: int = -1, lastrowid: int | None = None
    ) -> None:
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self.arraysize = 1


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs whole in one call on aiosqlite's thread."""

    __slots__ = ()

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor up front (that would be a hand-off of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Ran()  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        def run(raw: sqlite3.Connection) -> tuple[_Ran, Sequence[Any]]:
            cursor = raw.cursor()
            try:
                cursor.execute(operation, () if parameters is None else parameters)
                rows = cursor.fetchall() if cursor.description else ()
                return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid), rows
            finally:
                cursor.close()

        ran, rows = self._on_thread(run)
        self._cursor = ran  # type: ignore[assignment]
        self._rows = collections.deque(rows)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        def run(raw: sqlite3.Connection) -> _Ran:
            cursor = raw.cursor()
            try:
                cursor.executemany(operation, seq_of_parameters)
                return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid)
            finally:
                cursor.close()

        self._cursor = self._on_thread(run)  # type: ignore[assignment]
        self._rows = collections.deque()

    def close(self) -> None:
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """Nothing to close: the statement's cursor closed on the thread."""

    def _on_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        adapt = self._adapt_connection

        async def hop() -> T:
            async with adapt._execute_mutex:
                raw = self._connection._conn
                result: T = await self._connection._execute(fn, raw)
                return result

        try:
            return await_(hop())
        except Exception as error:
            adapt._handle_exception(error)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection with `OneHopCursor`, skipping empty commits and
    rollbacks (the pool's rollback after every checkout among them)."""

    __slots__ = ()

    _cursor_cls = OneHopCursor  # type: ignore[assignment]

    def _idle(self) -> bool:
        # Read between statements, with aiosqlite's thread idle: this connection is used by
        # one task at a time and each statement was awaited.
        raw: sqlite3.Connection = self._connection._conn
        return not raw.in_transaction

    def commit(self) -> None:
        if not self._idle():
            super().commit()

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()


async def _awaited() -> None:
    """Nothing, awaited: SQLAlchemy's async `execute` refuses a statement that awaited
    nothing (its check for a driver that is not async); this costs two greenlet switches and
    no turn of the event loop."""


class InlineCursor(OneHopCursor):
    """A cursor of the store's SQLite writer: its statement runs on the calling thread."""

    __slots__ = ()

    def _on_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            done = fn(self._connection._conn)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        await_(_awaited())
        return done


class InlineConnection(OneHopConnection):
    """The store's SQLite writer: statements, commits and rollbacks on the calling thread."""

    __slots__ = ()

    _cursor_cls = InlineCursor

    def commit(self) -> None:
        self._end(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._end(sqlite3.Connection.rollback)

    def _end(self, end: Callable[[sqlite3.Connection], None]) -> None:
        """Commit or roll back the open transaction, if any (an empty one is skipped)."""
        raw: sqlite3.Connection = self._connection._conn
        if raw.in_transaction:
            try:
                end(raw)
            except Exception as error:
                self._handle_exception(error)


def inline(dbapi_connection: Any) -> None:
    """Make a one-hop connection the store's inline writer, its automatic WAL checkpoints
    off (the store makes them elsewhere). Its sqlite3 connection must allow other threads
    (`check_same_thread=False`, `bot.store.engine`)."""
    if type(dbapi_connection) is OneHopConnection:
        raw: sqlite3.Connection = dbapi_connection._connection._conn
        raw.execute("PRAGMA wal_autocheckpoint=0")
        dbapi_connection.__class__ = InlineConnection


def one_hop(dbapi_connection: Any) -> None:
    """Make a freshly connected aiosqlite connection a `OneHopConnection` (same layout)."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneHopConnection
