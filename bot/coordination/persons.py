"""Each person's runs across replicas: `ORCHESTRA_MAX_RUNS_PER_USER` holds for the workspace.

Every process counts a person's runs at acceptance, synchronously and in memory
(`bot.runs.admission`), so the ack never waits on a network. With replicas, a person's other runs
may live elsewhere: after the ack the run joins the person's set in Redis, and one Lua script
counts and adds atomically, so two requests on two replicas cannot both slip under the cap.

A member's score is when it stops counting by itself: a run ends and leaves, but one whose
replica died is resumed elsewhere under the same id (still counted), and one never resumed
must not hold the person's slot for ever."""

from __future__ import annotations

import logging
from typing import Protocol

from bot.coordination.counts import RunCounts, person_key
from bot.coordination.link import RedisDown, RedisLink

logger = logging.getLogger(__name__)

COUNTED_FOR_S = 3600  # a run older than an hour stops counting against its person

# KEYS[1]: the person's sorted set (run id -> when it stops counting), KEYS[2]: the counts'
# marker (`bot.coordination.counts`); ARGV: run id, cap, seconds it counts, '1' to check the
# marker. 1: joined (or was in already), 0: the person is at the cap, -1: the marker is
# missing (the counts were lost: nothing done).
_JOIN = """
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local clock = redis.call('TIME')
local now = tonumber(clock[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) + 60)
return 1
"""


class PersonRuns(Protocol):
    """A person's runs, counted where every replica sees them."""

    async def join(self, user: str, run_id: str, cap: int) -> bool:
        """False when `user` has `cap` runs already; else the run counts from now."""
        ...

    async def leave(self, user: str, run_id: str) -> None:
        """The run is over: it no longer counts."""
        ...


class LocalPersonRuns:
    """One process: its own count (`bot.runs.admission`) is the whole count."""

    async def join(self, user: str, run_id: str, cap: int) -> bool:
        """Always True: the process counted the run at acceptance."""
        return True

    async def leave(self, user: str, run_id: str) -> None:
        """Nothing is kept here."""


_LOST = -1  # _JOIN found the counts' marker missing


class RedisPersonRuns:
    """Replicas: one sorted set per person in Redis; `counts` rebuilds them when Redis has
    lost them (from the run store; without one they start empty)."""

    def __init__(
        self, link: RedisLink, counted_for_s: int = COUNTED_FOR_S, counts: RunCounts | None = None
    ) -> None:
        self._link = link
        self._counted_for_s = counted_for_s
        self._counts = counts or RunCounts(link, slot_held_s=0, person_counted_s=counted_for_s)
        self._join = link.client.register_script(_JOIN)

    async def join(self, user: str, run_id: str, cap: int) -> bool:
        """Atomic count-and-add. While Redis is unreachable, the acceptance count of this
        process stands (the run starts): refusing everyone for an outage would be worse than
        a person briefly having a run or two more than the cap."""
        try:
            joined = await self._ask(user, run_id, cap, check=True)
            if joined == _LOST:
                await self._counts.rebuild()
                joined = await self._ask(user, run_id, cap, check=False)
        except RedisDown as down:
            logger.warning("%s: per-person cap counted by this replica only", down)
            return True
        return joined == 1

    async def _ask(self, user: str, run_id: str, cap: int, *, check: bool) -> int:
        keys = [person_key(self._link, user), self._counts.marker]
        args: list[str | int] = [run_id, cap, self._counted_for_s, "1" if check else "0"]
        return int(await self._link.run(lambda _: self._join(keys=keys, args=args)))

    async def leave(self, user: str, run_id: str) -> None:
        """Remove the run; if Redis is unreachable it stops counting when its score passes."""
        key = person_key(self._link, user)
        try:
            await self._link.run(lambda client: client.zrem(key, run_id))
        except RedisDown as down:
            logger.warning("%s: a finished run counts for its person until it expires", down)
