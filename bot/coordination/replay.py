"""Refusing replayed Slack requests: a signed request is accepted once.

The signature check accepts a request for 5 minutes either side of its timestamp; within that
window a captured request could be sent again and, for commands, start a second run. Slack
signs every delivery afresh (its retries included), so a repeated signature is a replay. With
several replicas the replay may reach another replica: then the signatures seen are kept in
Redis, each for as long as its timestamp keeps it valid."""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from bot.coordination.link import RedisDown, RedisLink

logger = logging.getLogger(__name__)

WINDOW_S = 5 * 60  # older timestamps fail the signature check, so older signatures need not be kept
# Replicas' clocks differ a little; a signature is kept this much longer than its window.
CLOCK_SKEW_S = 30


class ReplayGuard(Protocol):
    """Remembers the signatures of verified requests."""

    async def first_time(self, signature: str, timestamp: int) -> bool:
        """True the first time `signature` (of a request stamped `timestamp`) is seen.

        Call it only for signatures already verified: an unsigned flood must not fill it."""
        ...


class MemoryReplayGuard:
    """The signatures this process saw in the last `WINDOW_S` seconds (at most `limit`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = 100_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._clock = clock
        self._limit = limit

    async def first_time(self, signature: str, timestamp: int = 0) -> bool:
        """True the first time `signature` is seen within the window."""
        return self.first_time_now(signature)

    def first_time_now(self, signature: str) -> bool:
        """`first_time` without awaiting: memory only."""
        now = self._clock()
        while self._seen and (
            next(iter(self._seen.values())) < now - WINDOW_S or len(self._seen) > self._limit
        ):
            self._seen.popitem(last=False)
        if signature in self._seen:
            return False
        self._seen[signature] = now
        return True


class RedisReplayGuard:
    """Signatures seen by any replica, in Redis (SET NX with the rest of the signature's
    window as expiry), with this process's memory while Redis is unreachable."""

    def __init__(
        self,
        link: RedisLink,
        *,
        clock: Callable[[], float] = time.time,  # the same clock the signature check uses
        fallback: MemoryReplayGuard | None = None,
    ) -> None:
        self._link = link
        self._clock = clock
        self._fallback = fallback or MemoryReplayGuard()

    async def first_time(self, signature: str, timestamp: int) -> bool:
        """True the first time any replica sees `signature`."""
        # Valid until `timestamp + WINDOW_S` by the signature check's rule; never less than a
        # second (Redis refuses EX 0).
        expiry_s = max(1, math.ceil(timestamp + WINDOW_S - self._clock()) + CLOCK_SKEW_S)
        key = self._link.key("signature", signature)
        try:
            fresh = await self._link.run(lambda r: r.set(key, "1", nx=True, ex=expiry_s))
        except RedisDown as down:
            # This runs before the ack, so it must not wait. A replayed command or event that
            # reaches another replica during the outage is still stopped by the delivery
            # dedupe (store-backed); what is left open for the outage is a replayed button
            # click on another replica, which needs a captured request within 5 minutes.
            logger.warning("replay guard: %s; checking this process's memory only", down)
            return self._fallback.first_time_now(signature)
        return bool(fresh)
