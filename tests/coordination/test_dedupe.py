"""Delivery dedupe on a real Redis: one winner across replicas, all keys or none, bounded by
time; while Redis is down the store decides, and with both down nothing starts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from bot.coordination import Claim, RedisLink
from bot.coordination.dedupe import LocalClaims, RedisClaims
from bot.store import RunStore
from tests.coordination.conftest import LinkFactory

TTL_S = 3600.0


class Ledger:
    """The store's half, scripted: answers `answer` (or raises it) and counts its calls."""

    def __init__(self, answer: bool | Exception = True) -> None:
        self.answer = answer
        self.calls: list[list[str]] = []

    async def claim_delivery(self, keys: Sequence[str], ttl_s: float) -> bool:
        self.calls.append(list(keys))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_fifty_concurrent_claims_across_two_clients_have_one_winner(
    new_link: LinkFactory,
) -> None:
    # 25 replicas' worth of claimers on each client, each with its own memory, so every one
    # of the 50 claims reaches Redis; the ledger always agrees, so Redis alone decides.
    first, second = new_link(), new_link()
    claimers = [RedisClaims(link, Ledger()) for link in [first, second] * 25]
    results = await asyncio.gather(*(c.claim(["event:Ev-race"], TTL_S) for c in claimers))
    assert results.count(Claim.WON) == 1
    assert results.count(Claim.REPEAT) == 49


async def test_overlapping_multi_key_claims_across_clients_have_one_winner(
    new_link: LinkFactory,
) -> None:
    # One message as two events: each claim holds the message key and its own event id.
    first, second = new_link(), new_link()
    claims = [
        RedisClaims(link, Ledger()).claim(["msg:C1:1.0", f"event:Ev{n}"], TTL_S)
        for n, link in enumerate([first, second] * 10)
    ]
    results = await asyncio.gather(*claims)
    assert results.count(Claim.WON) == 1


async def test_a_claim_takes_all_its_keys_or_none(link: RedisLink) -> None:
    def claims() -> RedisClaims:  # a fresh replica each time: Redis decides, not memory
        return RedisClaims(link, Ledger())

    assert await claims().claim(["a", "b"], TTL_S) is Claim.WON
    assert await claims().claim(["b", "c"], TTL_S) is Claim.REPEAT
    assert await claims().claim(["c"], TTL_S) is Claim.WON  # the refused claim wrote nothing


async def test_a_repeat_in_one_process_never_waits_on_redis(link: RedisLink) -> None:
    claims = RedisClaims(link, Ledger())
    first, repeat = await asyncio.gather(claims.claim(["k"], TTL_S), claims.claim(["k"], TTL_S))
    assert (first, repeat) == (Claim.WON, Claim.REPEAT)


async def test_a_key_is_free_again_after_its_window(link: RedisLink) -> None:
    assert await RedisClaims(link, Ledger()).claim(["short"], 0.2) is Claim.WON
    assert await RedisClaims(link, Ledger()).claim(["short"], 0.2) is Claim.REPEAT
    await asyncio.sleep(0.3)
    assert await RedisClaims(link, Ledger()).claim(["short"], 0.2) is Claim.WON


async def test_only_the_claim_is_true(link: RedisLink) -> None:
    assert Claim.WON
    assert not Claim.REPEAT
    assert not Claim.UNDECIDED


async def test_a_key_the_store_still_holds_is_a_repeat_even_if_redis_forgot(
    link: RedisLink,
) -> None:
    # Redis restarted without persistence: the store's copy still stops the redelivery.
    assert await RedisClaims(link, Ledger(answer=False)).claim(["old"], TTL_S) is Claim.REPEAT


async def test_the_store_failing_after_redis_decided_still_starts_the_run(
    link: RedisLink,
) -> None:
    claims = RedisClaims(link, Ledger(answer=OSError("store down")))
    assert await claims.claim(["k"], TTL_S) is Claim.WON


async def test_with_redis_down_the_store_decides(dead_link: RedisLink) -> None:
    ledger = Ledger(answer=True)
    assert await RedisClaims(dead_link, ledger).claim(["k"], TTL_S) is Claim.WON
    assert ledger.calls == [["k"]]
    assert await RedisClaims(dead_link, Ledger(answer=False)).claim(["k"], TTL_S) is Claim.REPEAT


async def test_with_redis_and_the_store_down_nothing_starts_and_the_answer_is_fast(
    dead_link: RedisLink,
) -> None:
    claims = RedisClaims(dead_link, Ledger(answer=OSError("store down")))
    started = time.monotonic()
    assert await claims.claim(["k"], TTL_S) is Claim.UNDECIDED
    assert time.monotonic() - started < 1.5  # well within Slack's 3 s
    # Not remembered as claimed: once things recover, a redelivery can still start the run.
    claims_after = RedisClaims(dead_link, Ledger(answer=True))
    assert await claims_after.claim(["k"], TTL_S) is Claim.WON


async def test_two_replicas_on_postgresql_with_redis_down_have_one_winner(
    dead_link: RedisLink, postgres_url: str
) -> None:
    # The store's claim is atomic across processes: a Redis outage costs no duplicate.
    first, second = await RunStore.open(postgres_url), await RunStore.open(postgres_url)
    try:
        claimers = [RedisClaims(dead_link, store) for store in [first, second] * 10]
        results = await asyncio.gather(*(c.claim(["event:Ev-pg"], TTL_S) for c in claimers))
    finally:
        await first.close()
        await second.close()
    assert results.count(Claim.WON) == 1


async def test_an_empty_claim_is_a_mistake(link: RedisLink) -> None:
    with pytest.raises(ValueError, match="at least one key"):
        await RedisClaims(link, Ledger()).claim([], TTL_S)


async def test_one_process_dedupes_in_memory_when_the_store_is_down() -> None:
    now = [0.0]
    claims = LocalClaims(Ledger(answer=OSError("store down")), clock=lambda: now[0])
    assert await claims.claim(["k"], 60) is Claim.WON
    assert await claims.claim(["k"], 60) is Claim.REPEAT
    now[0] = 61
    assert await claims.claim(["k"], 60) is Claim.WON


async def test_one_process_follows_the_store_across_restarts() -> None:
    assert await LocalClaims(Ledger(answer=False)).claim(["k"], 60) is Claim.REPEAT
