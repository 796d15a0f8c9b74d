"""RunStore: the durable run store, opened once at the composition root and passed in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Self

from bot.store.canvases import RunCanvases
from bot.store.core import database_errors
from bot.store.engine import create_store_engine
from bot.store.installations import SealedInstallations, StoredOAuthStates
from bot.store.leases import RunLeases
from bot.store.migrate import SchemaChange, upgrade
from bot.store.outputs import OutputPosts
from bot.store.questions import RunQuestions
from bot.store.reads import RunReads
from bot.store.retention import Retention
from bot.store.reviews import RunReviews
from bot.store.sealing import Sealer
from bot.store.settings import ScopeSettings
from bot.store.spend import SpendLedger
from bot.store.steering import RunSteers
from bot.store.url import async_url
from bot.store.writes import RunWrites

logger = logging.getLogger(__name__)


class RunStore(
    RunWrites,
    RunReads,
    RunLeases,
    Retention,
    SpendLedger,
    OutputPosts,
    RunSteers,
    RunReviews,
    RunQuestions,
    RunCanvases,
    ScopeSettings,
):
    """Runs, their subtasks, Slack delivery keys, full outputs posted on demand and the spend
    ledger, in SQL.

    Build it with `await RunStore.open(url)` and `await store.close()` it at shutdown.
    Every write is one short transaction; it is safe to call from many asyncio tasks.
    The parts (writes, reads, leases, deliveries, retention, spend) live in their own
    modules.
    """

    schema: SchemaChange
    """The schema revision before and after the migrations that `open` applied."""

    _keeps_writer = True  # its SQLite writes on one connection, closed by `close`

    @classmethod
    async def open(cls, url: str, *, clock: Callable[[], float] = time.time) -> Self:
        """Connect to `url`, create or migrate the schema, and return the store.

        Args:
            url: `sqlite:///relative.db`, `sqlite:////absolute.db` (its folder is created)
                or `postgresql://user:password@host:port/db`.
            clock: Seconds since the epoch; tests pass a fake one to move time.

        Raises:
            DatabaseURLError: the URL names no database the store supports.
            StoreDown: the database cannot be reached or migrated.
        """
        sa_url = async_url(url)
        engine = create_store_engine(sa_url)
        try:
            async with database_errors(), engine.begin() as connection:
                schema = await connection.run_sync(upgrade)
        except BaseException:
            await engine.dispose()
            raise
        if schema.upgraded:
            logger.info("run store schema upgraded from %s to %s", schema.before, schema.after)
        store = cls(engine, clock)
        store.schema = schema
        return store

    def installations(self, sealer: Sealer) -> SealedInstallations:
        """The OAuth installations in this database, tokens sealed with `sealer`."""
        part = SealedInstallations(self._engine, self._clock, sealer)
        part._write_lock = self._write_lock  # one SQLite writer at a time, whoever writes
        return part

    def oauth_states(self) -> StoredOAuthStates:
        """The OAuth states of installs in progress, in this database."""
        part = StoredOAuthStates(self._engine, self._clock)
        part._write_lock = self._write_lock
        return part

    async def close(self) -> None:
        """Write what is buffered, close every connection; the store is unusable afterwards."""
        await self._close_buffer()
        await self._engine.dispose()
