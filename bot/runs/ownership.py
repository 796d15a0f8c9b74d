"""Which replica owns a live run, so that exactly one writes to its thread at a time.

Ownership has two locks, and a replica that wants a run needs both:
- a Redis lease `run:<id>` (`bot.coordination.leases`): fast, and it keeps replicas from
  racing for the same run in the store at all;
- the run's row in the store (`bot.store.leases`): `owner`, `lease_until` and a fencing
  token that a takeover raises in one conditional UPDATE; every journal write of the owner
  is checked against its fence in its own transaction, so a former owner cannot write late.

The owner renews both every `lease_s / 3` (`Ownership.keep`). Another replica may take the
run over only once both have run out: the Redis lease expired and the row's `lease_until`
passed. So the owner keeps the run while either can be renewed (Redis or PostgreSQL alone
being unreachable stops nothing), and stops, without a word, once neither could be for
nearly `lease_s`: it stops writing (`Tenure.writable`, awaited before every Slack call of
the run) a margin before the earliest moment another replica could take over.

Without Redis (`ORCHESTRA_REDIS_URL` unset) there is one process: every tenure is `solo`,
nothing is renewed and nothing is written."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.coordination import Coordination, Lease, RedisDown
from bot.store import Fence, RunStore, StoreDown

logger = logging.getLogger(__name__)


def lease_name(run_id: str) -> str:
    """The Redis lease of a run."""
    return f"run:{run_id}"


@dataclass(eq=False)
class Tenure:
    """This replica's hold on one run: its Redis lease and its fence in the store, and
    until when (this process's monotonic clock) each is known to be ours."""

    run_id: str
    fence: Fence | None  # None: the run has no row (the store was down when it began)
    lease: Lease | None  # None: no Redis lease right now (Redis down, or lost and not back)
    redis_until: float
    store_until: float
    margin_s: float
    lease_s: float = 0.0  # how long one renewal holds the run
    clock: Callable[[], float] = time.monotonic
    lost: bool = False  # another replica may have it: this one never writes for it again

    @classmethod
    def solo(cls, run_id: str) -> Tenure:
        """One process: the run is this process's for as long as it lives."""
        return cls(run_id, None, None, math.inf, math.inf, 0.0)

    @property
    def until(self) -> float:
        """When another replica could first take the run over, as far as this one knows."""
        return max(self.redis_until, self.store_until)

    def may_write(self) -> bool:
        """Whether this replica may still write for the run (to Slack, to the store)."""
        return not self.lost and self.clock() < self.until - self.margin_s

    async def writable(self, poll_s: float = 0.05) -> bool:
        """Whether this replica may write for the run, waiting out a late renewal.

        Past `until - margin` the run is not necessarily lost: on a busy replica the
        keeper's renewal can simply be late, and once it succeeds the run was ours all
        along. A write made then must wait, not be dropped (a dropped answer would be lost:
        nobody else takes over a run whose owner renews). False once the run is lost, or
        when no renewal has come for a whole lease past `until` (a keeper that stopped)."""
        # Polling: the wait happens only while a renewal is late, and the tenure is written
        # by the keeper in several places; an event for each would be more to get wrong.
        while not self.may_write():
            if self.lost or self.clock() >= self.until + self.lease_s:
                return False
            await asyncio.sleep(poll_s)
        return True


class Ownership:
    """Begins, takes over, keeps and gives up this replica's runs."""

    def __init__(
        self,
        coordination: Coordination,
        store: RunStore,
        lease_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.shared = coordination.shared
        self.replica = coordination.replica
        self.lease_s = lease_s
        self._leases = coordination.leases
        self._store = store
        self._clock = clock
        self._sleep = sleep
        # Stop writing this long before another replica could take over: covers a Slack
        # call already under way and the difference between the replicas' clocks.
        self.margin_s = lease_s / 6

    def _tenure(self, run_id: str, fence: Fence | None, lease: Lease | None, at: float) -> Tenure:
        return Tenure(
            run_id,
            fence,
            lease,
            redis_until=at + self.lease_s if lease is not None else -math.inf,
            store_until=at + self.lease_s if fence is not None else -math.inf,
            margin_s=self.margin_s,
            lease_s=self.lease_s,
            clock=self._clock,
        )

    async def _acquire(self, run_id: str) -> Lease | None:
        try:
            return await self._leases.acquire(lease_name(run_id), self.replica, self.lease_s)
        except RedisDown as down:
            # Not a warning per run and try: an outage is named by /healthz and the rest of
            # coordination; meanwhile the run's row holds it.
            logger.debug("run lease: %s [run_id=%s]", down, run_id)
            return None

    async def begin(self, run_id: str) -> Tenure:
        """A new run's tenure: its Redis lease, and the fence its row gets when the store
        creates it owned by this replica (`create_run(owner=…, lease_s=…)`, token 1). If
        Redis does not answer the run still starts, held by its row alone until Redis does."""
        if not self.shared:
            return Tenure.solo(run_id)
        at = self._clock()
        lease = await self._acquire(run_id)
        return self._tenure(run_id, Fence(run_id, self.replica, 1), lease, at)

    async def take(self, run_id: str) -> Tenure | None:
        """Take over an unfinished run that nobody holds (its owner died, paused it, or
        lost it); None when another replica holds it, or Redis or the store cannot say."""
        if not self.shared:
            return Tenure.solo(run_id)
        at = self._clock()
        lease = await self._acquire(run_id)
        if lease is None:
            return None
        try:
            fence = await self._store.take_run(run_id, self.replica, self.lease_s)
        except StoreDown:
            logger.exception("run store: could not take a run over [run_id=%s]", run_id)
            fence = None
        if fence is None:  # its row says another replica still holds it, or it ended
            await self._give_up_lease(lease)
            return None
        return self._tenure(run_id, fence, lease, at)

    async def keep(self, tenure: Tenure) -> None:
        """Renew `tenure` until it is lost, then return (`tenure.lost` is then true); cancel
        it to stop renewing.

        A renewal is tried even past the point where the run stopped writing: if it
        succeeds, the run was still this replica's (nobody can take it over without the
        Redis lease and the row), and writing resumes. Only a renewal the store refuses, or
        none succeeding until another replica could take over, loses the run."""
        every = self.lease_s / 3
        while True:
            stop_at = tenure.until - self.margin_s
            await self._sleep(max(self.lease_s / 10, min(every, stop_at - self._clock())))
            # Shielded: a run that ends cancels its keeper, and a renewal cut off mid-write
            # could leave its transaction (and the run's row lock) open, so that the release
            # after it waits for ever. The renewal finishes; the keeper stops after it.
            renewed = await asyncio.shield(self._renew(tenure))
            if tenure.lost or (not renewed and self._clock() >= tenure.until):
                break
            # After a failure, try again sooner: the margin is all there is left.
            every = self.lease_s / 3 if renewed else self.lease_s / 6
        tenure.lost = True
        logger.warning(
            "run lease lost: another replica may take this run over; stopping it here "
            "without writing [run_id=%s]",
            tenure.run_id,
        )

    async def _renew(self, tenure: Tenure) -> bool:
        """One renewal of both locks, side by side; True if either was renewed."""
        at = self._clock()
        redis_ok, store_ok = await asyncio.gather(
            self._renew_lease(tenure), self._renew_row(tenure)
        )
        if store_ok is False:  # the row names a newer owner: the run is theirs
            tenure.lost = True
            return False
        if redis_ok:
            tenure.redis_until = at + self.lease_s
        elif redis_ok is False:  # expired while Redis was away, or Redis lost its keys
            tenure.lease, tenure.redis_until = None, -math.inf
        if store_ok:
            tenure.store_until = at + self.lease_s
        if tenure.lease is None and (store_ok or tenure.fence is None):
            # The store confirms the run is ours (or it has no row): get a Redis lease again.
            lease = await self._acquire(tenure.run_id)
            if lease is not None:
                tenure.lease, tenure.redis_until = lease, at + self.lease_s
        return bool(redis_ok or store_ok)

    async def _renew_lease(self, tenure: Tenure) -> bool | None:
        """True: renewed; False: the Redis lease is no longer ours; None: no answer."""
        if tenure.lease is None:
            return None
        try:
            return await self._leases.renew(tenure.lease, self.lease_s)
        except RedisDown:
            return None

    async def _renew_row(self, tenure: Tenure) -> bool | None:
        """True: renewed; False: another replica took the run; None: no answer."""
        if tenure.fence is None:
            return None
        try:
            return await self._store.renew_run_lease(tenure.fence, self.lease_s)
        except StoreDown:
            # Tried again within seconds, for every live run: not a warning each time.
            logger.debug("run store: could not renew a run's lease [run_id=%s]", tenure.run_id)
            return None

    async def release(self, tenure: Tenure) -> None:
        """The run ended or paused here: give up both locks, so that an unfinished run can
        be taken over at once (a lock that cannot be given up simply runs out)."""
        if not self.shared or tenure.lost:
            return
        tenure.lost = True
        if tenure.lease is not None:
            await self._give_up_lease(tenure.lease)
        if tenure.fence is not None:
            try:
                await self._store.release_run(tenure.fence)
            except StoreDown:
                logger.warning("run store: could not release a run [run_id=%s]", tenure.run_id)

    async def _give_up_lease(self, lease: Lease) -> None:
        with contextlib.suppress(RedisDown):  # it runs out by itself
            await self._leases.release(lease)
