"""The app's durable life around serving: the store opened, unfinished runs resumed, old
texts purged on a schedule, and (several replicas) runs of a replica that died taken over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.deps import Deps
from bot.resume import resume_unfinished, take_over
from bot.startup import EXIT_CONFIG, EXIT_UNREACHABLE, StartupError
from bot.store import DatabaseURLError, RunStore
from bot.store.file_lock import StoreFileLock, lock_path

logger = logging.getLogger(__name__)

# Hourly: texts outlive ORCHESTRA_RETENTION_DAYS by at most an hour (daily let them stay up
# to a day longer). A pass with nothing due is two one-row reads and no write (`purge`).
PURGE_EVERY_S = 60 * 60


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


# How long a new process waits for another one to let go of the SQLite file, as a multiple of
# ORCHESTRA_SHUTDOWN_TIMEOUT_S: a deploy that starts the new process before stopping the old
# gives the old one that long to pause its runs, and then it closes its store and exits.
STORE_LOCK_WAIT = 1.5
STORE_LOCK_POLL_S = 0.2


async def sole_user_of_store(
    database_url: str, wait_s: float, *, poll_s: float = STORE_LOCK_POLL_S
) -> StoreFileLock | None:
    """Without Redis, one process per SQLite file (`bot.store.file_lock` says why): the
    lock beside the database, held for the process's life; None for PostgreSQL. Waits up to
    `wait_s` for another process to exit, then raises a StartupError naming it."""
    try:
        path = lock_path(database_url)
    except DatabaseURLError as exc:
        raise StartupError(f"ORCHESTRA_DATABASE_URL: {exc}", EXIT_CONFIG) from None
    if path is None:
        return None
    lock = StoreFileLock(path)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    try:
        if not lock.try_acquire():
            logger.warning(
                "the run store %s is in use by another process (pid %s); waiting up to "
                "%.0f s for it to exit",
                path.with_suffix(""),
                lock.holder() or "unknown",
                wait_s,
            )
        # Polling: the holder is another process, and flock has no asynchronous wait.
        while not lock.try_acquire():
            if loop.time() >= deadline:
                raise StartupError(_store_taken(path, lock.holder()), EXIT_UNREACHABLE)
            await asyncio.sleep(poll_s)
    except OSError as exc:  # the folder cannot be written, for one
        raise StartupError(
            f"Could not lock the run store ({path}): {type(exc).__name__}; check that its "
            "folder is writable (ORCHESTRA_DATABASE_URL).",
            EXIT_CONFIG,
        ) from None
    return lock


def _store_taken(path: Path, holder: int | None) -> str:
    who = f"pid {holder}" if holder is not None else "pid unknown"
    return (
        f"Another Orchestra process ({who}) is using the run store {path.with_suffix('')}, "
        "and SQLite serves one process: stop that process first, or run several with "
        "PostgreSQL and Redis (ORCHESTRA_DATABASE_URL, ORCHESTRA_REDIS_URL)."
    )


async def purge_forever(
    store: RunStore,
    retention_days: float,
    every_s: float = PURGE_EVERY_S,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Remove old runs' texts now and then every `every_s` (spend totals stay)."""
    while True:
        try:
            counts = await store.purge(retention_days)
            if counts.runs:
                logger.info("retention: removed the texts of %d old runs", counts.runs)
        except Exception:
            logger.exception("run store: retention pass failed; trying again later")
        await sleep(every_s)


async def take_over_forever(deps: Deps) -> None:
    """Several replicas: every `lease_s / 2`, take over runs whose lease ran out (their
    replica died or lost them) or was given up (paused for a restart), and resume them.

    One pass takes at most as many runs as this replica has free slots (at least one), so a
    dead replica's runs spread over the others rather than all landing on the first."""
    ownership, admission = deps.runs.ownership, deps.runs.admission
    while True:
        await asyncio.sleep(ownership.lease_s / 2)
        if not deps.runs.accepting:
            return
        free = admission.max_live - len(deps.runs.live)
        try:
            await take_over(deps, limit=max(1, free))
        except Exception:
            # A task boundary: the next pass tries again.
            logger.exception("takeover pass failed; trying again later")


@contextlib.asynccontextmanager
async def keeping_runs(deps: Deps) -> AsyncIterator[None]:
    """Resume what a previous process left unfinished, keep retention going and (several
    replicas) take over runs nobody holds, while the app serves."""
    await resume_unfinished(deps)
    tasks = [
        asyncio.create_task(
            purge_forever(deps.store, deps.settings.retention_days), name="retention"
        )
    ]
    if deps.runs.ownership.shared:
        tasks.append(asyncio.create_task(take_over_forever(deps), name="takeover"))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
