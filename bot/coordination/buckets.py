"""Token buckets for Slack's rate limits, shared by every replica of a workspace.

Slack counts calls per method per workspace (and `chat.postMessage` also per channel),
whatever process makes them: three replicas pacing themselves separately would together go
three times over. So with Redis a bucket lives there and one Lua script refills and takes a
token atomically, on Redis's clock (one clock for all replicas).

A bucket answers one question, "may I call now, or how long until I may?": `take` takes a
token and returns 0.0, or takes nothing and returns the seconds until one refills. Who of
this process's waiting calls gets the token is the caller's business (`bot.slack.pacing` orders
them)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.coordination.link import RedisDown, RedisLink

logger = logging.getLogger(__name__)

# KEYS[1]: the bucket, a hash {tokens, at}; ARGV: tokens per second, capacity.
# Returns the wait in seconds as a string (a Lua number returned to Redis would be
# truncated to an integer). A bucket left alone long enough to be full is just deleted by
# its expiry: a missing bucket is a full one.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""


@dataclass(frozen=True)
class Rate:
    """`per_second` tokens a second, up to `burst` saved up (`bot.slack.pacing.Limit`'s numbers)."""

    per_second: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_second > 0 and burst >= 1")


def slack_scope(team: str, method: str, channel: str | None = None) -> str:
    """The bucket of `method` in workspace `team`, or in one of its channels (pass `channel`
    only for methods Slack limits per channel, such as chat.postMessage)."""
    return f"{team}:{method}:{channel}" if channel else f"{team}:{method}"


class RateBuckets(Protocol):
    """Token buckets by scope."""

    async def take(self, scope: str, rate: Rate) -> float:
        """0.0: a token was taken, call now. Otherwise no token was taken: ask again after
        that many seconds."""
        ...


# Buckets kept before the full ones are dropped (then again at twice what remained).
PRUNE_AT = 1024


class MemoryBuckets:
    """One process's buckets (the same arithmetic as the Redis script). As there, a bucket
    left alone until it is full is forgotten (a missing bucket is a full one): a process
    that calls in thousands of channels over weeks keeps only the buckets still refilling."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # scope -> (tokens, at, when it is full again)
        self._state: dict[str, tuple[float, float, float]] = {}
        self._prune_at = PRUNE_AT

    def __len__(self) -> int:
        return len(self._state)

    async def take(self, scope: str, rate: Rate) -> float:
        """Take a token of `scope` if one is there; else the seconds until one is."""
        return self.take_now(scope, rate)

    def take_now(self, scope: str, rate: Rate) -> float:
        """`take` without awaiting."""
        now = self._clock()
        tokens, at, _ = self._state.get(scope, (rate.burst, now, now))
        tokens = min(rate.burst, tokens + max(0.0, now - at) * rate.per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate.per_second
        self._state[scope] = (tokens, now, now + (rate.burst - tokens) / rate.per_second)
        if len(self._state) > self._prune_at:
            self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        """Forget the buckets that are full by now (amortized: run when the count doubled)."""
        self._state = {scope: kept for scope, kept in self._state.items() if kept[2] > now}
        self._prune_at = max(PRUNE_AT, 2 * len(self._state))


class RedisBuckets:
    """Buckets in Redis, shared by every replica; this process's own while Redis is down."""

    def __init__(self, link: RedisLink, *, fallback: MemoryBuckets | None = None) -> None:
        self._link = link
        self._script = link.client.register_script(_TAKE)
        self._fallback = fallback or MemoryBuckets()
        self._degraded = False  # said once per outage: every Slack call would say it again

    async def take(self, scope: str, rate: Rate) -> float:
        """Take a shared token of `scope`, or say how long until one refills."""
        key = self._link.key("bucket", scope)
        args = [repr(rate.per_second), repr(rate.burst)]
        try:
            wait = await self._link.run(lambda _: self._script(keys=[key], args=args))
        except RedisDown as down:
            # Each replica alone at the full rate may together go over for the outage; Slack
            # then answers 429 with Retry-After, which slack_sdk's handlers honour. Pausing
            # every Slack call instead would freeze every run for an outage of the pacer.
            if not self._degraded:
                logger.warning("rate limits: %s; pacing in this process only", down)
                self._degraded = True
            return self._fallback.take_now(scope, rate)
        if self._degraded:
            logger.info("rate limits: Redis is back; pacing shared again")
            self._degraded = False
        return max(0.0, float(wait))
