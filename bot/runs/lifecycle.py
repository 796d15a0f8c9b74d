"""The app's durable life around serving: the store opened, unfinished runs resumed, old
texts purged on a schedule, and (several replicas) runs of a replica that died taken over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from bot.deps import Deps
from bot.runs.resume import resume_unfinished, take_over
from bot.store import RunStore, StoreError

logger = logging.getLogger(__name__)

# Hourly: texts outlive ORCHESTRA_RETENTION_DAYS by at most an hour (daily let them stay up
# to a day longer). A pass with nothing due is two one-row reads and no write (`purge`).
PURGE_EVERY_S = 60 * 60


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
        except StoreError:
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
        free = admission.max_live - len(deps.runs.running)
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
