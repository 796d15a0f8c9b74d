"""Client-side pacing so we stay under Slack's rate limits instead of collecting 429s.

slack_sdk's retry handlers still honour Retry-After when a 429 comes anyway; pacing makes
that the exception. Numbers follow Slack's published tiers (DESIGN.md "Platform limits")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` tokens a second, bursts up to `capacity`; `acquire` waits for a token."""

    rate: float
    capacity: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _tokens: float = field(init=False)
    _updated: float = field(init=False)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self._tokens = self.capacity
        self._updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        """Take one token, waiting (in FIFO order) until one is available."""
        async with self._lock:
            self._refill()
            while self._tokens < 1:
                await self.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1


@dataclass(frozen=True)
class Limit:
    """A rate in calls per second with a burst allowance."""

    per_second: float
    burst: float


# chat.postMessage: about 1/s per channel, short bursts tolerated.
# chat.update: Tier 3 (50+/min per workspace); chat.postEphemeral: Tier 4 (100+/min);
# conversations.replies: Tier 3. We stay a little under each.
DEFAULT_LIMITS: dict[str, Limit] = {
    "chat.postMessage": Limit(per_second=1.0, burst=3),
    "chat.update": Limit(per_second=45 / 60, burst=10),
    "chat.postEphemeral": Limit(per_second=90 / 60, burst=10),
    "conversations.replies": Limit(per_second=45 / 60, burst=10),
}
PER_CHANNEL = frozenset({"chat.postMessage"})


class Pacer:
    """One token bucket per rate-limited scope (method, and channel where Slack counts so)."""

    def __init__(
        self,
        limits: dict[str, Limit] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = DEFAULT_LIMITS if limits is None else limits
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    async def wait(self, method: str, channel: str) -> None:
        """Wait until a call to `method` in `channel` fits under the limit."""
        limit = self._limits.get(method)
        if limit is None:
            return
        key = (method, channel if method in PER_CHANNEL else "")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(limit.per_second, limit.burst, self._clock)
            self._buckets[key] = bucket
        await bucket.acquire()
