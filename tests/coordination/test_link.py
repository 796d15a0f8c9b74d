"""The Redis link: failures become `RedisDown`, and after one Redis is left alone briefly."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from bot.coordination import RedisDown, RedisLink
from bot.coordination.link import redacted


async def test_after_a_failure_redis_is_not_tried_again_for_a_moment(dead_redis_url: str) -> None:
    now = [0.0]
    link = RedisLink(Redis.from_url(dead_redis_url), clock=lambda: now[0], pause_s=1.0)
    tries: list[float] = []

    async def ping(client: Redis) -> object:
        tries.append(now[0])
        return await client.ping()

    try:
        with pytest.raises(RedisDown, match="unreachable"):
            await link.run(ping)
        started = time.monotonic()
        with pytest.raises(RedisDown, match="moments ago"):
            await link.run(ping)
        assert time.monotonic() - started < 0.01  # no connection attempt at all
        assert tries == [0.0]
        now[0] = 1.5
        with pytest.raises(RedisDown, match="unreachable"):
            await link.run(ping)
        assert tries == [0.0, 1.5]
    finally:
        await link.close()


async def test_keys_carry_the_prefix(link: RedisLink, prefix: str) -> None:
    assert link.key("delivery", "event:Ev1") == f"{prefix}delivery:event:Ev1"


async def test_a_ping_after_recovery_clears_the_pause(link: RedisLink) -> None:
    link.failed()
    with pytest.raises(RedisDown, match="moments ago"):
        await link.run(lambda client: client.ping())
    await link.ping()  # /healthz asks Redis itself, and an answer ends the pause
    assert await link.run(lambda client: client.ping())


def test_a_url_is_logged_without_its_password() -> None:
    assert redacted("redis://user:s3cret@cache.internal:6380/2") == "redis://cache.internal:6380"
    assert "s3cret" not in redacted("rediss://:s3cret@cache.internal/0")
