"""Delivery dedupe: each Slack delivery key starts at most one run, across restarts and, with
Redis, across replicas.

Slack resends an event it thinks was lost (also after we restarted, and to any replica), and
one message can arrive as two events: every key of a request is claimed at once, all or
none. Three layers, cheapest first: this process's memory (a concurrent repeat here never
waits on I/O), then Redis when configured (one atomic script: shared by every replica), then
the run store (durable: Redis may keep nothing on disk)."""

from __future__ import annotations

import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.coordination.link import RedisDown, RedisLink

logger = logging.getLogger(__name__)

# All keys or none: if any is held, nothing is written. (A script runs atomically in Redis;
# on a Redis Cluster the keys would need one hash slot, which this deployment does not use.)
_CLAIM_ALL = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, '1', 'PX', ARGV[1])
end
return 1
"""


class Claim(enum.Enum):
    """What a claim found. Only `WON` is true, so `if not await claim(...)` stops both others."""

    WON = "won"  # first delivery: start the run
    REPEAT = "repeat"  # a key was already claimed: a retry or a second event; ignore it
    # Neither Redis nor the store could say: refused rather than risk a duplicate run (the
    # person should be told to ask again: `bot.render.notes.NOT_CHECKED`).
    UNDECIDED = "undecided"

    def __bool__(self) -> bool:
        return self is Claim.WON


class DeliveryLedger(Protocol):
    """The run store's durable half of dedupe (`RunStore.claim_delivery`)."""

    async def claim_delivery(self, keys: Sequence[str], ttl_s: float) -> bool:
        """True when no key was held; then all are held for `ttl_s`."""
        ...


class DeliveryClaims(Protocol):
    """Claims a request's delivery keys."""

    async def claim(self, keys: Sequence[str], ttl_s: float) -> Claim:
        """`WON` the first time any of `keys` is claimed within `ttl_s` seconds."""
        ...


class _Recent:
    """Keys this process has claimed, each until it expires (bounded by time, not count)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        # In the order they were claimed: by expiry for keys of one window. A key of a
        # shorter window (a button press's seconds beside a delivery's hour) may outstay its
        # time behind longer ones, so `held` compares each key's own time.
        self._until: OrderedDict[str, float] = OrderedDict()

    def held(self, keys: Sequence[str]) -> bool:
        now = self._clock()
        while self._until and next(iter(self._until.values())) <= now:
            self._until.popitem(last=False)
        return any(self._until.get(key, now) > now for key in keys)

    def hold(self, keys: Sequence[str], ttl_s: float) -> None:
        for key in keys:
            self._until[key] = self._clock() + ttl_s
            self._until.move_to_end(key)

    def drop(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._until.pop(key, None)


class LocalClaims:
    """One process: its memory, backed by the run store (which survives restarts)."""

    def __init__(self, ledger: DeliveryLedger, clock: Callable[[], float] = time.monotonic):
        self._ledger = ledger
        self._recent = _Recent(clock)

    async def claim(self, keys: Sequence[str], ttl_s: float) -> Claim:
        """Memory first (a concurrent repeat sees the keys before any await), then the store."""
        if self._recent.held(keys):
            return Claim.REPEAT
        self._recent.hold(keys, ttl_s)
        try:
            won = await self._ledger.claim_delivery(keys, ttl_s)
        except Exception:
            # The store is unreachable: with one process, its memory has seen every delivery
            # since it started, so it still stops repeats (not those from before a restart).
            logger.exception("run store: could not claim a delivery; deduping in memory")
            return Claim.WON
        return Claim.WON if won else Claim.REPEAT


class RedisClaims:
    """Several replicas: an atomic set-if-absent in Redis decides; the store keeps a durable
    copy and decides alone while Redis is unreachable."""

    def __init__(
        self,
        link: RedisLink,
        ledger: DeliveryLedger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._link = link
        self._ledger = ledger
        self._recent = _Recent(clock)
        self._script = link.client.register_script(_CLAIM_ALL)

    async def claim(self, keys: Sequence[str], ttl_s: float) -> Claim:
        """`WON` for the first delivery of any of `keys` on any replica; `UNDECIDED` when
        neither Redis nor the store can answer."""
        unique = sorted(set(keys))
        if not unique:
            raise ValueError("a claim needs at least one key")
        if self._recent.held(unique):
            return Claim.REPEAT
        self._recent.hold(unique, ttl_s)
        redis_keys = [self._link.key("delivery", key) for key in unique]
        ttl_ms = max(1, int(ttl_s * 1000))
        try:
            won = await self._link.run(lambda _: self._script(keys=redis_keys, args=[ttl_ms]))
        except RedisDown as down:
            return await self._store_decides(unique, ttl_s, down)
        if not won:
            return Claim.REPEAT
        try:
            # Redis may forget (a restart, or no persistence): the store remembers for the
            # window. A key it still holds was claimed before Redis forgot it.
            stored = await self._ledger.claim_delivery(unique, ttl_s)
        except Exception:
            logger.exception("run store: could not record a delivery; Redis has decided")
            return Claim.WON
        return Claim.WON if stored else Claim.REPEAT

    async def _store_decides(self, keys: Sequence[str], ttl_s: float, down: RedisDown) -> Claim:
        # The store's claim is atomic across replicas too (a row lock on PostgreSQL), so a
        # Redis outage costs a database round trip, never a duplicate run.
        logger.warning("delivery dedupe: %s; the run store decides", down)
        try:
            won = await self._ledger.claim_delivery(keys, ttl_s)
        except Exception:
            # Unlike one process, this replica's memory has not seen the other replicas'
            # deliveries: starting the run could start it twice. A refusal the person can
            # repeat in a minute is the lesser harm than a duplicate run posting in a thread.
            logger.exception("delivery dedupe: neither Redis nor the run store answered")
            self._recent.drop(keys)  # once things recover, a redelivery may be claimed
            return Claim.UNDECIDED
        return Claim.WON if won else Claim.REPEAT
