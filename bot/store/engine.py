"""Build the async engine for a store URL, with SQLite set up for a long-lived app."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from bot.store.onehop import one_hop
from bot.store.url import ensure_sqlite_folder, is_sqlite, sqlite_file

# How long a SQLite writer waits for another process's write lock before "database is
# locked". Writers inside one process never wait on it: the store serializes them itself.
SQLITE_BUSY_TIMEOUT_S = 30.0
# SQLite's readers (the writer is kept apart, `StoreCore._transaction`): a burst of runs waits
# its turn for one of these rather than opening more. An overflow connection is a thread
# and a `sqlite3.connect` with its PRAGMAs, closed again at once: under bursts of 20 runs
# that churn cost more CPU than the store's writes; a read takes a fraction of a millisecond.
SQLITE_READERS = 5


def create_store_engine(url: URL) -> AsyncEngine:
    """An async engine for `url` (already mapped to its async driver by `async_url`)."""
    if not is_sqlite(url):
        # Connections die with a PostgreSQL restart or failover; check before handing out.
        return create_async_engine(url, pool_pre_ping=True)
    ensure_sqlite_folder(url)
    # sqlite3's `timeout` is SQLite's busy timeout; aiosqlite passes it through.
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    if sqlite_file(url) is None:
        # Every connection to ":memory:" is a new, empty database: share one.
        engine = create_async_engine(url, connect_args=connect_args, poolclass=StaticPool)
    else:
        # The store's writer runs its statements on the event loop's thread (`onehop.inline`),
        # not on the thread aiosqlite opened it on.
        connect_args["check_same_thread"] = False
        engine = create_async_engine(
            url, connect_args=connect_args, pool_size=SQLITE_READERS, max_overflow=0
        )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """Per-connection SQLite settings (PRAGMAs have no SQLAlchemy construct)."""
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer and the writer never blocks readers.
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL survives a process crash (SIGKILL, OOM); only a power cut can lose
    # the latest commits. FULL would fsync every one of the many small writes.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    one_hop(dbapi_connection)  # each statement one hand-off to aiosqlite's thread
