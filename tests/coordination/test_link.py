"""The Redis link: failures become `RedisDown`, and after one Redis is left alone briefly."""

from __future__ import annotations

import asyncio
import random
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


async def test_a_caller_cancelled_mid_command_is_cancelled_whatever_redis_py_does(
    link: RedisLink,
) -> None:
    # redis-py 8.2 swallows a cancellation that reaches it at the wrong moment of a command
    # (about 1 in 70 cancels landing within its first 2 ms, measured here): the cancelled
    # caller went on as if nothing had happened. Cancelled at moments spread over a command's
    # life, every caller must end cancelled or with the command done before the cancel.
    rng = random.Random(7)
    key = link.key("cancel-race")
    outcomes: list[str] = []

    async def caller() -> str:
        await link.run(lambda client: client.get(key))
        task = asyncio.current_task()
        assert task is not None
        return "went on though cancelled" if task.cancelling() else "done"

    for _ in range(600):
        task = asyncio.create_task(caller())
        await asyncio.sleep(rng.random() * 0.002)
        task.cancel()
        try:
            outcomes.append(await task)
        except asyncio.CancelledError:
            outcomes.append("cancelled")
    assert "went on though cancelled" not in outcomes
    assert "cancelled" in outcomes  # the race was run: some cancels did land mid-command
