"""The live-run and per-person counts in Redis, rebuilt from the run store when Redis has
lost them.

Redis may keep nothing across a restart (no persistence), be flushed, or fail over to a
replica that had not seen the latest writes. The counts behind `ORCHESTRA_MAX_LIVE_RUNS`
(`bot.coordination.slots`) and `ORCHESTRA_MAX_RUNS_PER_USER` (`bot.coordination.persons`)
would then start from zero while the runs they counted go on: more runs than the caps allow.
The run store still has every queued and running run, so the counts are rebuilt from it.

A marker key says the counts are there: the scripts that read them answer "lost" when it is
missing (after any of the above, and on a first start), and the replica that sees that
rebuilds the counts, sets the marker, and asks again. Of replicas rebuilding at once, the
first to finish does it (the rebuild script does nothing once the marker is back)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from bot.coordination.link import RedisLink

logger = logging.getLogger(__name__)

# KEYS[1]: the marker; KEYS[2..]: the workspaces' live slots (zset run -> expiry) and persons'
# sets (zset run -> when it stops counting). ARGV[1]: seconds a live slot holds; ARGV[2]:
# seconds a person's set is kept; ARGV[3]: n, how many live runs; ARGV[4..3+2n]: pairs, the
# KEYS index of its workspace's live slots and a live run's id; then triples: the KEYS index
# of a person's set, a run id, seconds it still counts.
# 1: rebuilt; 0: the marker was back already (another replica rebuilt them).
_REBUILD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local hold, keep, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, 2 + 2 * n, 2 do
  redis.call('ZADD', KEYS[tonumber(ARGV[i])], 'NX', now + hold, ARGV[i + 1])
end
local i = 4 + 2 * n
while i <= #ARGV do
  local key = KEYS[tonumber(ARGV[i])]
  redis.call('ZADD', key, 'NX', math.floor(now) + tonumber(ARGV[i + 2]), ARGV[i + 1])
  redis.call('EXPIRE', key, keep)
  i = i + 3
end
redis.call('SET', KEYS[1], '1')
return 1
"""


class CountedRun(Protocol):
    """A queued or running run as the store has it (`bot.store.CountedRun`)."""

    @property
    def run_id(self) -> str: ...

    @property
    def requester(self) -> str: ...

    @property
    def holds_slot(self) -> bool:
        """Running under a live lease: it holds one of the live slots."""
        ...

    @property
    def age_s(self) -> float:
        """Seconds since it was created."""
        ...

    @property
    def workspace(self) -> str:
        """The team id of its workspace."""
        ...


@runtime_checkable
class CountSource(Protocol):
    """Where the runs being counted are kept for good (the run store)."""

    async def counted_runs(self) -> Sequence[CountedRun]:
        """Every queued or running run."""
        ...


def scoped(workspace: str, name: str) -> str:
    """`name` (a person, a channel, a delivery) within `workspace`: Enterprise Grid gives a
    person one user id in every workspace of the org, so a count or a budget keyed by the id
    alone would be shared by workspaces that must not see one another's. "" (one workspace):
    the name alone, as the keys have always been."""
    return f"{workspace}/{name}" if workspace else name


def marker_key(link: RedisLink) -> str:
    """The key whose presence says the counts are in Redis."""
    return link.key("counts", "kept")


def live_key(link: RedisLink, workspace: str = "") -> str:
    """The live slots of `workspace` ("": of the one workspace): run id -> when its entry
    expires."""
    return link.key("slots", workspace, "live") if workspace else link.key("slots", "live")


def person_key(link: RedisLink, user: str) -> str:
    """A person's runs: run id -> when it stops counting."""
    return link.key("person", user)


class RunCounts:
    """Rebuilds the counts from `source` when Redis has lost them (`source` None: nothing
    is kept elsewhere, so they start empty)."""

    def __init__(
        self,
        link: RedisLink,
        source: CountSource | None = None,
        *,
        slot_held_s: int,
        person_counted_s: int,
        per_workspace: bool = False,
    ) -> None:
        self._link = link
        self._source = source
        # Many workspaces (OAuth): each has its own slots and persons (`bot.slack.tenancy`).
        self._per_workspace = per_workspace
        self._slot_held_s = slot_held_s
        self._person_counted_s = person_counted_s
        self._rebuild = link.client.register_script(_REBUILD)

    @property
    def marker(self) -> str:
        """The marker key (the counting scripts check it)."""
        return marker_key(self._link)

    async def rebuild(self) -> None:
        """Put every run the store counts back into Redis and set the marker (unless another
        replica did first); raises `RedisDown`."""
        found: Sequence[CountedRun] = ()
        if self._source is not None:
            try:
                found = await self._source.counted_runs()
            except Exception:
                # The caps count from zero until these runs end: said loudly, once.
                logger.exception(
                    "Redis lost the live-run and per-person counts and the run store could "
                    "not be read to rebuild them: the caps count only runs started from now"
                )

        def where(run: CountedRun) -> str:
            return run.workspace if self._per_workspace else ""

        live = [run for run in found if run.holds_slot]
        counted = [run for run in found if run.age_s < self._person_counted_s]
        keys = [self.marker]
        index: dict[str, int] = {}  # key -> its KEYS index (1-based)
        for key in [live_key(self._link, where(run)) for run in live] + [
            person_key(self._link, scoped(where(run), run.requester)) for run in counted
        ]:
            if key not in index:
                keys.append(key)
                index[key] = len(keys)
        args: list[str | int] = [self._slot_held_s, self._person_counted_s + 60, len(live)]
        for run in live:
            args += [index[live_key(self._link, where(run))], run.run_id]
        for run in counted:
            left = max(1, int(self._person_counted_s - run.age_s))
            person = person_key(self._link, scoped(where(run), run.requester))
            args += [index[person], run.run_id, left]
        rebuilt = await self._link.run(lambda _: self._rebuild(keys=keys, args=args))
        if not int(rebuilt):
            return
        if self._source is None:
            logger.debug("no run counts in Redis: counting from zero")
            return
        logger.log(
            logging.WARNING if found else logging.INFO,
            "Redis had no live-run and per-person counts (a first start, or Redis restarted "
            "without persistence, was flushed or failed over): rebuilt them from the run "
            "store: %d runs holding live slots, %d runs of %d persons",
            len(live),
            len(counted),
            len({scoped(where(run), run.requester) for run in counted}),
        )
