"""The replay guard on a real Redis: a signature is accepted once by all replicas together,
for as long as its timestamp keeps it valid; with Redis down each replica remembers alone."""

from __future__ import annotations

import asyncio
import time

from bot.coordination import RedisLink
from bot.coordination.replay import CLOCK_SKEW_S, WINDOW_S, MemoryReplayGuard, RedisReplayGuard
from tests.coordination.conftest import LinkFactory

SIGNATURE = "v0=" + "ab" * 32


async def test_a_signature_seen_by_one_replica_is_a_replay_on_another(
    new_link: LinkFactory,
) -> None:
    first, second = RedisReplayGuard(new_link()), RedisReplayGuard(new_link())
    now = int(time.time())
    assert await first.first_time(SIGNATURE, now) is True
    assert await second.first_time(SIGNATURE, now) is False
    assert await first.first_time(SIGNATURE, now) is False
    assert await second.first_time("v0=" + "cd" * 32, now) is True


async def test_fifty_concurrent_checks_of_one_signature_accept_one(new_link: LinkFactory) -> None:
    guards = [RedisReplayGuard(link) for link in [new_link(), new_link()] * 25]
    now = int(time.time())
    results = await asyncio.gather(*(g.first_time(SIGNATURE, now) for g in guards))
    assert results.count(True) == 1


async def test_a_signature_is_kept_for_the_rest_of_its_window(link: RedisLink) -> None:
    now = int(time.time())
    guard = RedisReplayGuard(link, clock=lambda: float(now))
    await guard.first_time(SIGNATURE, now - 100)  # 200 s of its window left
    ttl = await link.client.ttl(link.key("signature", SIGNATURE))
    assert 200 <= ttl <= 200 + CLOCK_SKEW_S
    other = "v0=" + "ef" * 32
    await guard.first_time(other, now - WINDOW_S - 50)  # past its window: kept briefly anyway
    assert 1 <= await link.client.ttl(link.key("signature", other)) <= CLOCK_SKEW_S


async def test_with_redis_down_a_replica_still_refuses_what_it_saw(dead_link: RedisLink) -> None:
    guard = RedisReplayGuard(dead_link)
    now = int(time.time())
    started = time.monotonic()
    assert await guard.first_time(SIGNATURE, now) is True
    assert await guard.first_time(SIGNATURE, now) is False
    assert time.monotonic() - started < 1.5  # before the ack: never long


async def test_one_process_forgets_a_signature_after_the_window() -> None:
    now = [0.0]
    guard = MemoryReplayGuard(clock=lambda: now[0])
    assert await guard.first_time(SIGNATURE, 0) is True
    assert await guard.first_time(SIGNATURE, 0) is False
    now[0] = WINDOW_S + 1
    assert await guard.first_time(SIGNATURE, 0) is True
