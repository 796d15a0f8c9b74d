"""Shared token buckets on a real Redis: replicas hammering one bucket together never go over
its rate; the in-memory bucket does the same arithmetic; with Redis down each replica paces
alone."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.coordination import Rate, RedisLink, slack_scope
from bot.coordination.buckets import MemoryBuckets, RateBuckets, RedisBuckets
from tests.coordination.conftest import LinkFactory


async def hammer(
    buckets: RateBuckets, scope: str, rate: Rate, until: float
) -> list[tuple[float, float]]:
    """Take tokens as fast as the bucket allows until `until`: for each token, a time before
    the call that got it and a time after (it was granted in between, on Redis's clock)."""
    granted: list[tuple[float, float]] = []
    while time.monotonic() < until:
        before = time.monotonic()
        wait = await buckets.take(scope, rate)
        if wait == 0:
            granted.append((before, time.monotonic()))
        else:
            await asyncio.sleep(wait)
    return granted


def most_over(granted: list[tuple[float, float]], rate: Rate) -> float:
    """How far the busiest stretch of time went over the bucket's promise (<= 0: never).

    The tokens granted between `start` and `end` are at most the burst plus what refilled
    meanwhile; a token is surely within [start, end] when its call began after `start` and
    ended before `end` (the calls' own delays, a busy machine's, then only widen the span)."""
    worst = float("-inf")
    for start, _ in granted:
        for _, end in granted:
            if end < start:
                continue
            inside = sum(1 for b, a in granted if b >= start and a <= end)
            worst = max(worst, inside - (rate.burst + rate.per_second * (end - start)))
    return worst


async def test_two_replicas_together_never_exceed_the_rate(new_link: LinkFactory) -> None:
    rate = Rate(per_second=20, burst=5)
    replicas = [RedisBuckets(new_link()), RedisBuckets(new_link())]
    until = time.monotonic() + 1.5
    callers = [hammer(buckets, "T1:chat.update", rate, until) for buckets in replicas * 3]
    per_caller = await asyncio.gather(*callers)
    granted = [times for caller in per_caller for times in caller]
    assert most_over(granted, rate) <= 0.1  # a tenth of a token: Redis's clock vs this one
    # ...and the replicas did get tokens at the rate, not a trickle.
    assert len(granted) >= (rate.burst + rate.per_second * 1.5) / 2
    # Both replicas got tokens (each has three callers: on a loaded machine one caller may
    # lose every race for a token, a replica's three do not).
    assert all(any(per_caller[n::2]) for n in range(2))


def test_separate_buckets_would_go_over_and_the_check_sees_it() -> None:
    # The check above, on what two replicas pacing alone would do: both spend a full burst.
    rate = Rate(per_second=20, burst=5)
    alone = [(0.001 * n, 0.001 * n + 0.0005) for n in range(2 * 5)]
    assert most_over(alone, rate) > 4


async def test_scopes_are_separate_buckets(link: RedisLink) -> None:
    buckets, rate = RedisBuckets(link), Rate(per_second=1, burst=1)
    assert await buckets.take(slack_scope("T1", "chat.postMessage", "C1"), rate) == 0
    assert await buckets.take(slack_scope("T1", "chat.postMessage", "C1"), rate) > 0
    assert await buckets.take(slack_scope("T1", "chat.postMessage", "C2"), rate) == 0
    assert await buckets.take(slack_scope("T2", "chat.postMessage", "C1"), rate) == 0


async def test_an_empty_bucket_says_how_long_until_a_token(link: RedisLink) -> None:
    buckets, rate = RedisBuckets(link), Rate(per_second=2, burst=1)
    assert await buckets.take("s", rate) == 0
    wait = await buckets.take("s", rate)
    assert 0.3 < wait <= 0.5
    await asyncio.sleep(wait)
    assert await buckets.take("s", rate) == 0


async def test_a_bucket_left_alone_expires_from_redis(link: RedisLink) -> None:
    await RedisBuckets(link).take("idle", Rate(per_second=10, burst=2))
    ttl_ms = await link.client.pttl(link.key("bucket", "idle"))
    assert 0 < ttl_ms <= 1200  # full again after 0.2 s, then a second to spare


async def test_with_redis_down_a_replica_paces_alone(dead_link: RedisLink) -> None:
    buckets, rate = RedisBuckets(dead_link), Rate(per_second=1, burst=2)
    assert [await buckets.take("s", rate) for _ in range(2)] == [0, 0]
    assert await buckets.take("s", rate) > 0


def test_the_memory_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    buckets, rate = MemoryBuckets(clock=lambda: now[0]), Rate(per_second=4, burst=2)
    assert [buckets.take_now("s", rate) for _ in range(2)] == [0, 0]
    assert buckets.take_now("s", rate) == pytest.approx(0.25)
    assert buckets.take_now("s", rate) == pytest.approx(0.25)  # asking takes nothing
    now[0] = 0.25
    assert buckets.take_now("s", rate) == 0
    now[0] = 100  # a long pause saves up the burst, no more
    assert [buckets.take_now("s", rate) for _ in range(3)][2] == pytest.approx(0.25)


def test_a_slack_scope_is_per_workspace_and_per_channel_where_slack_counts_so() -> None:
    assert slack_scope("T1", "chat.update") == "T1:chat.update"
    assert slack_scope("T1", "chat.postMessage", "C9") == "T1:chat.postMessage:C9"


@pytest.mark.parametrize(("per_second", "burst"), [(0, 1), (-1, 1), (1, 0.5)])
def test_a_rate_that_could_never_grant_is_refused(per_second: float, burst: float) -> None:
    with pytest.raises(ValueError, match="per_second"):
        Rate(per_second=per_second, burst=burst)


def test_the_memory_buckets_forget_the_full_ones_but_never_one_still_refilling() -> None:
    # As Redis lets a full bucket expire: one per channel the app ever wrote in otherwise
    # stayed for the life of the process.
    now = [0.0]
    buckets = MemoryBuckets(lambda: now[0])
    rate = Rate(per_second=1.0, burst=2.0)
    assert buckets.take_now("T:chat.postMessage:drained", rate) == 0.0
    assert buckets.take_now("T:chat.postMessage:drained", rate) == 0.0  # empty: 2 s to full
    for channel in range(1400):
        now[0] += 0.001  # a post in a new channel every millisecond; each is full 1 s later
        assert buckets.take_now(f"T:chat.postMessage:C{channel}", rate) == 0.0
    # 1.4 s in: forgotten, the drained bucket would be full (2 tokens); it has 1.4.
    assert buckets.take_now("T:chat.postMessage:drained", rate) == 0.0
    assert buckets.take_now("T:chat.postMessage:drained", rate) > 0
    for channel in range(1400, 20_000):
        now[0] += 0.001
        buckets.take_now(f"T:chat.postMessage:C{channel}", rate)
        # About 1,000 refill at any moment; the full ones go once the count doubles.
        assert len(buckets) <= 2 * 1024 + 1
