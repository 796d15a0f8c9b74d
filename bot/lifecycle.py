"""The app's durable life around serving: the store opened, unfinished runs resumed, old
texts purged on a schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy.exc import SQLAlchemyError

from bot.deps import Deps
from bot.resume import resume_unfinished
from bot.startup import EXIT_CONFIG, EXIT_UNREACHABLE, StartupError
from bot.store import DatabaseURLError, RunStore

logger = logging.getLogger(__name__)

PURGE_EVERY_S = 24 * 60 * 60


async def open_store(url: str) -> RunStore:
    """The run store at `url`, migrated; a StartupError naming the variable if it cannot be."""
    try:
        return await RunStore.open(url)
    except DatabaseURLError as exc:
        raise StartupError(f"ORCHESTRA_DATABASE_URL: {exc}", EXIT_CONFIG) from None
    except (SQLAlchemyError, OSError) as exc:
        raise StartupError(
            f"Could not open the run store (ORCHESTRA_DATABASE_URL): {type(exc).__name__}; "
            "check that the database is reachable, then start again.",
            EXIT_UNREACHABLE,
        ) from None


async def purge_forever(deps: Deps, every_s: float = PURGE_EVERY_S) -> None:
    """Remove old runs' texts now and then every `every_s` (spend totals stay)."""
    while True:
        try:
            counts = await deps.store.purge(deps.settings.retention_days)
            if counts.runs:
                logger.info("retention: removed the texts of %d old runs", counts.runs)
        except Exception:
            logger.exception("run store: retention pass failed; trying again later")
        await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def keeping_runs(deps: Deps) -> AsyncIterator[None]:
    """Resume what a previous process left unfinished, and keep retention going, while the
    app serves."""
    await resume_unfinished(deps)
    retention = asyncio.create_task(purge_forever(deps), name="retention")
    try:
        yield
    finally:
        retention.cancel()
        await asyncio.gather(retention, return_exceptions=True)
