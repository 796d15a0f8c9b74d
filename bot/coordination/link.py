"""The one Redis connection of a replica: bounded timeouts, a key prefix, and a short pause
after a failure so that an unreachable Redis costs an ack nothing.

Every Redis-backed part of `bot.coordination` talks to Redis through `RedisLink.run`, which
turns any Redis or socket failure into `RedisDown`; each part decides what that means (a
fallback, or a refusal)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Slack wants an ack within 3 s, and the replay check runs before it: one Redis round trip
# must give up long before that. On loopback or a LAN a command takes well under 1 ms.
TIMEOUT_S = 0.5
# After a failure, skip Redis this long (raise at once) instead of paying the timeout on
# every request while it is down; the next call after the pause tries again.
PAUSE_AFTER_FAILURE_S = 1.0
# Idle connections are checked with a PING before use, so a Redis restart costs one retry,
# not an error (and a subscriber notices a dead connection).
HEALTH_CHECK_S = 5
DEFAULT_PREFIX = "orchestra:"


class RedisDown(Exception):
    """Redis could not be reached, or did not answer in time; the message says which."""


class RedisLink:
    """A Redis client with this deployment's key prefix and a pause after failures."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], float] = time.monotonic,
        pause_s: float = PAUSE_AFTER_FAILURE_S,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self._clock = clock
        self._pause_s = pause_s
        self._down_until = float("-inf")

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, name: str | None = None
    ) -> RedisLink:
        """A link to `url` (no connection is made until the first command); its connections
        carry `name` (CLIENT LIST shows which replica holds which connection)."""
        client = Redis.from_url(
            url,
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            # One quick retry: a pooled connection that Redis closed (a restart) is replaced
            # at once; anything longer belongs to the caller's fallback, not to a loop here.
            retry=Retry(NoBackoff(), 1),
            health_check_interval=HEALTH_CHECK_S,
            decode_responses=True,
            client_name=name,
        )
        return cls(client, prefix=prefix)

    def key(self, *parts: str) -> str:
        """A key of this deployment: the prefix, then `parts` joined by ':'."""
        return self.prefix + ":".join(parts)

    async def run(self, command: Callable[[Redis], Awaitable[T]]) -> T:
        """`command`'s result; `RedisDown` if Redis failed now or within the last pause.
        A caller cancelled meanwhile gets its `CancelledError`, whatever redis-py did."""
        if self._clock() < self._down_until:
            raise RedisDown("Redis failed moments ago; not trying again yet")
        cancels = cancel_requests()
        try:
            result = await command(self.client)
        except (RedisError, OSError) as exc:
            raise_if_cancelled_since(cancels)
            self._down_until = self._clock() + self._pause_s
            raise RedisDown(f"Redis is unreachable ({type(exc).__name__})") from exc
        raise_if_cancelled_since(cancels)
        return result

    def failed(self) -> None:
        """Note a failure seen outside `run` (a subscriber's connection): pause as after one."""
        self._down_until = self._clock() + self._pause_s

    async def ping(self) -> None:
        """Raise `RedisDown` unless Redis answers (the pause is ignored: /healthz asks)."""
        try:
            await self.client.ping()
        except (RedisError, OSError) as exc:
            raise RedisDown(f"Redis is unreachable ({type(exc).__name__})") from exc
        self._down_until = float("-inf")

    async def close(self) -> None:
        """Close every connection of the pool."""
        await self.client.aclose()


def cancel_requests() -> int:
    """How many cancellations of the current task are pending (0 outside a task)."""
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


def raise_if_cancelled_since(before: int) -> None:
    """Raise `CancelledError` if the current task was cancelled since `before` was read.

    redis-py's asyncio client (8.2 as of 2026-12; its issues 2028 and 2551) can swallow a
    `CancelledError` that reaches it mid-command: the command returns, or fails as a lost
    connection, as if nobody had cancelled. The cancelled caller then goes on, and whoever
    cancelled it and waits for it to end waits for ever: a run's plan editor kept editing
    after its run ended, so the run never posted its answer's last edit and ignored SIGTERM.
    A cancel request that was delivered still counts in `Task.cancelling()`: raise it again."""
    if cancel_requests() > before:
        raise asyncio.CancelledError


def redacted(url: str) -> str:
    """`url` without its password, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or parts.path or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"
