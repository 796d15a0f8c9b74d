"""The live-run cap and its queue, shared by every replica of a workspace.

`ORCHESTRA_MAX_LIVE_RUNS` bounds the runs calling Claude at once in the workspace; the rest
wait in one queue served round robin by person (whoever was served longest ago goes next,
each person's runs first come, first served), whichever replica holds them.

Why Redis and a Lua script rather than a job-queue library (arq, saq, procrastinate): those
serve jobs first in, first out (or by priority) to whichever worker asks, while this queue
must be fair by person and must leave each run on the replica that owns its thread (its
lease). A script reads the queue, decides who may start and records it in one atomic step
on Redis's clock.

Entries expire unless their replica refreshes them, so a dead replica's runs free their
slots; the replica that takes such a run over joins the queue again under the same id.

Installed in many workspaces, each workspace has its own slots and queue (its own keys,
`workspace` below), so one workspace's runs never wait behind another's."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.coordination.counts import RunCounts, live_key
from bot.coordination.link import RedisDown, RedisLink

logger = logging.getLogger(__name__)

HELD_FOR_S = 30  # an entry not refreshed for this long is a dead replica's

# KEYS: live (zset run -> expiry), queue (zset run -> seq), expiry of waiting runs (zset),
# owners (hash run -> person), served (zset person -> seq of their last start), seq (counter),
# the counts' marker (`bot.coordination.counts`).
# ARGV: run id, person, cap, seconds an entry holds, '1' to check the marker.
# Returns -1 when the run holds a slot (now or already), -2 when the marker is missing (the
# counts were lost: nothing done), else how many runs start before it.
_TAKE = """
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[7]) == 0 then return -2 end
local live, queue, qexp, owners, served, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local run, person, cap, hold = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', live, '-inf', now)
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', qexp, '-inf', now)) do
  redis.call('ZREM', queue, dead)
  redis.call('ZREM', qexp, dead)
  redis.call('HDEL', owners, dead)
end
if redis.call('ZSCORE', live, run) then
  redis.call('ZADD', live, now + hold, run)
  return -1
end
if not redis.call('ZSCORE', queue, run) then
  redis.call('ZADD', queue, redis.call('INCR', seq), run)
  redis.call('HSET', owners, run, person)
end
redis.call('ZADD', qexp, now + hold, run)
-- Each person's waiting runs, oldest first; persons by when they were last served.
local runs = redis.call('ZRANGE', queue, 0, -1)
local by_person, persons = {}, {}
for _, r in ipairs(runs) do
  local p = redis.call('HGET', owners, r) or ''
  if not by_person[p] then
    by_person[p] = {}
    local last = tonumber(redis.call('ZSCORE', served, p)) or 0
    table.insert(persons, {p, last, #persons})
  end
  table.insert(by_person[p], r)
end
table.sort(persons, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[3] < b[3]
end)
local position, depth, placed = 0, 1, 0
while placed < #runs and depth <= #runs do
  for _, entry in ipairs(persons) do
    local r = by_person[entry[1]][depth]
    if r then
      if r == run then
        local free = cap - redis.call('ZCARD', live)
        if position < free then
          redis.call('ZREM', queue, run)
          redis.call('ZREM', qexp, run)
          redis.call('HDEL', owners, run)
          redis.call('ZADD', live, now + hold, run)
          redis.call('ZADD', served, redis.call('INCR', seq), person)
          return -1
        end
        return position
      end
      position = position + 1
      placed = placed + 1
    end
  end
  depth = depth + 1
end
return position
"""

# KEYS as _TAKE's first four; ARGV: run ids; refreshed only where they are.
_REFRESH = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local hold = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + hold, ARGV[i])
  redis.call('ZADD', KEYS[3], 'XX', now + hold, ARGV[i])
end
return 1
"""


@dataclass(frozen=True)
class Take:
    """What asking for a slot found: it is the run's (`started`), or `ahead` runs go first."""

    started: bool
    ahead: int = 0


class SharedSlots(Protocol):
    """The workspace's live-run slots and queue."""

    async def take(self, run_id: str, user: str, cap: int, *, workspace: str = "") -> Take:
        """Take a slot of `workspace` if it is the run's turn, else join (or stay in) its
        queue."""
        ...

    async def give_back(self, run_id: str, *, workspace: str = "") -> None:
        """The run ended or left the queue."""
        ...

    async def refresh(self, run_ids: list[str], *, workspace: str = "") -> None:
        """This replica still holds these runs (live or waiting) of `workspace`."""
        ...


@dataclass
class _Workspace:
    """One workspace's slots and queue in memory: `_TAKE`'s keys as Python values."""

    live: dict[str, float] = field(default_factory=dict)  # run -> expiry
    queue: dict[str, int] = field(default_factory=dict)  # run -> seq
    qexp: dict[str, float] = field(default_factory=dict)  # waiting run -> expiry
    owners: dict[str, str] = field(default_factory=dict)  # waiting run -> person
    served: dict[str, int] = field(default_factory=dict)  # person -> seq of their last start
    seq: int = 0


class MemorySlots:
    """`SharedSlots` in one process: `_TAKE` and `_REFRESH` step for step in Python (the same
    protocol as `RedisSlots`, so admission has one path; tests/coordination/test_agreement.py
    runs both on one table of cases). Entries expire as in Redis, on `clock`."""

    def __init__(
        self, held_for_s: int = HELD_FOR_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.held_for_s = held_for_s
        self._clock = clock
        self._workspaces: dict[str, _Workspace] = {}

    def _of(self, workspace: str) -> _Workspace:
        return self._workspaces.setdefault(workspace, _Workspace())

    async def take(self, run_id: str, user: str, cap: int, *, workspace: str = "") -> Take:
        """See `SharedSlots.take`."""
        ahead = self._take(self._of(workspace), run_id, user, cap)
        return Take(started=True) if ahead < 0 else Take(started=False, ahead=ahead)

    def _take(self, w: _Workspace, run: str, person: str, cap: int) -> int:
        now = self._clock()
        w.live = {r: until for r, until in w.live.items() if until > now}
        for dead in [r for r, until in w.qexp.items() if until <= now]:
            w.queue.pop(dead, None)
            w.qexp.pop(dead, None)
            w.owners.pop(dead, None)
        if run in w.live:
            w.live[run] = now + self.held_for_s
            return -1
        if run not in w.queue:
            w.seq += 1
            w.queue[run] = w.seq
            w.owners[run] = person
        w.qexp[run] = now + self.held_for_s
        # Each person's waiting runs, oldest first; persons by when they were last served.
        by_person: dict[str, list[str]] = {}
        for r in sorted(w.queue, key=lambda r: (w.queue[r], r)):
            by_person.setdefault(w.owners.get(r, ""), []).append(r)
        persons = sorted(by_person, key=lambda p: w.served.get(p, 0))  # stable: first seen
        position = 0
        for depth in range(max(len(runs) for runs in by_person.values())):
            for p in persons:
                if depth >= len(by_person[p]):
                    continue
                if by_person[p][depth] == run:
                    if position < cap - len(w.live):
                        del w.queue[run], w.qexp[run], w.owners[run]
                        w.live[run] = now + self.held_for_s
                        w.seq += 1
                        w.served[person] = w.seq
                        return -1
                    return position
                position += 1
        return position

    async def give_back(self, run_id: str, *, workspace: str = "") -> None:
        """See `SharedSlots.give_back`."""
        w = self._of(workspace)
        for entries in (w.live, w.queue, w.qexp, w.owners):
            entries.pop(run_id, None)

    async def refresh(self, run_ids: list[str], *, workspace: str = "") -> None:
        """See `SharedSlots.refresh`."""
        w, until = self._of(workspace), self._clock() + self.held_for_s
        for run_id in run_ids:
            for entries in (w.live, w.qexp):
                if run_id in entries:
                    entries[run_id] = until


_LOST = -2  # _TAKE found the counts' marker missing


class RedisSlots:
    """`SharedSlots` in Redis, for replicas; `counts` rebuilds the live slots when Redis has
    lost them (from the run store; without one they start empty)."""

    def __init__(
        self, link: RedisLink, held_for_s: int = HELD_FOR_S, counts: RunCounts | None = None
    ) -> None:
        self._link = link
        self.held_for_s = held_for_s
        self._counts = counts or RunCounts(link, slot_held_s=held_for_s, person_counted_s=0)
        self._take = link.client.register_script(_TAKE)
        self._refresh = link.client.register_script(_REFRESH)

    def _keys(self, workspace: str) -> list[str]:
        """The workspace's keys, in _TAKE's order ("": the one workspace's, as always)."""
        parts = ("queue", "qexp", "owners", "served", "seq")
        where = (workspace,) if workspace else ()
        return [
            live_key(self._link, workspace),  # the one the counts rebuild
            *(self._link.key("slots", *where, part) for part in parts),
        ]

    async def take(self, run_id: str, user: str, cap: int, *, workspace: str = "") -> Take:
        """See `SharedSlots.take`; raises `RedisDown` (the caller decides alone then)."""
        ahead = await self._ask(run_id, user, cap, workspace, check=True)
        if ahead == _LOST:
            await self._counts.rebuild()
            ahead = await self._ask(run_id, user, cap, workspace, check=False)
        return Take(started=True) if ahead < 0 else Take(started=False, ahead=ahead)

    async def _ask(self, run_id: str, user: str, cap: int, workspace: str, *, check: bool) -> int:
        keys = [*self._keys(workspace), self._counts.marker]
        args: list[str | int] = [run_id, user, cap, self.held_for_s, "1" if check else "0"]
        return int(await self._link.run(lambda _: self._take(keys=keys, args=args)))

    async def give_back(self, run_id: str, *, workspace: str = "") -> None:
        """See `SharedSlots.give_back`; an unreachable Redis lets the entry expire."""
        live, queue, qexp, owners = self._keys(workspace)[:4]

        async def remove(client: object) -> None:
            async with self._link.client.pipeline(transaction=True) as pipe:
                pipe.zrem(live, run_id)
                pipe.zrem(queue, run_id)
                pipe.zrem(qexp, run_id)
                pipe.hdel(owners, run_id)
                await pipe.execute()

        try:
            await self._link.run(remove)
        except RedisDown as down:
            logger.warning("%s: a run's slot frees itself when its entry expires", down)

    async def refresh(self, run_ids: list[str], *, workspace: str = "") -> None:
        """See `SharedSlots.refresh`."""
        keys = self._keys(workspace)[:4]
        if run_ids:
            await self._link.run(
                lambda _: self._refresh(keys=keys, args=[self.held_for_s, *run_ids])
            )
