"""Each person's runs across replicas: `ORCHESTRA_MAX_RUNS_PER_USER` holds for the workspace.

Every process counts a person's runs at acceptance, synchronously and in memory
(`bot.admission`), so the ack never waits on a network. With replicas, a person's other runs
may live elsewhere: after the ack the run joins the person's set in Redis, and one Lua script
counts and adds atomically, so two requests on two replicas cannot both slip under the cap.

A member's score is when it stops counting by itself: a run ends and leaves, but one whose
replica died is resumed elsewhere under the same id (still counted), and one never resumed
must not hold the person's slot for ever."""

from __future__ import annotations

import logging
from typing import Protocol

from bot.coordination.link import RedisDown, RedisLink

logger = logging.getLogger(__name__)

COUNTED_FOR_S = 3600  # a run older than an hour stops counting against its person

# KEYS[1]: the person's sorted set (run id -> when it stops counting); ARGV: run id, cap,
# seconds it counts. 1: joined (or was in already), 0: the person is at the cap.
_JOIN = """
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
    """One process: its own count (`bot.admission`) is the whole count."""

    async def join(self, user: str, run_id: str, cap: int) -> bool:
        """Always True: the process counted the run at acceptance."""
        return True

    async def leave(self, user: str, run_id: str) -> None:
        """Nothing is kept here."""


class RedisPersonRuns:
    """Replicas: one sorted set per person in Redis."""

    def __init__(self, link: RedisLink, counted_for_s: int = COUNTED_FOR_S) -> None:
        self._link = link
        self._counted_for_s = counted_for_s
        self._join = link.client.register_script(_JOIN)

    async def join(self, user: str, run_id: str, cap: int) -> bool:
        """Atomic count-and-add. While Redis is unreachable, the acceptance count of this
        process stands (the run starts): refusing everyone for an outage would be worse than
        a person briefly having a run or two more than the cap."""
        key = self._link.key("person", user)
        try:
            joined = await self._link.run(
                lambda _: self._join(keys=[key], args=[run_id, cap, self._counted_for_s])
            )
        except RedisDown as down:
            logger.warning("%s: per-person cap counted by this replica only", down)
            return True
        return bool(int(joined))

    async def leave(self, user: str, run_id: str) -> None:
        """Remove the run; if Redis is unreachable it stops counting when its score passes."""
        key = self._link.key("person", user)
        try:
            await self._link.run(lambda client: client.zrem(key, run_id))
        except RedisDown as down:
            logger.warning("%s: a finished run counts for its person until it expires", down)
