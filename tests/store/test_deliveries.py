"""Delivery dedupe: all-or-nothing claims, one winner under concurrency, bounded by time."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import RunStore
from tests.store.conftest import FakeClock

# Slack retries a delivery for about an hour at most; the app picks the real window.
TTL_S = 3600.0


async def test_a_key_is_claimed_once(store: RunStore) -> None:
    assert await store.claim_delivery(["Ev1"], TTL_S) is True
    assert await store.claim_delivery(["Ev1"], TTL_S) is False
    assert await store.claim_delivery(["Ev2"], TTL_S) is True


async def test_a_request_with_one_held_key_claims_none_of_its_keys(store: RunStore) -> None:
    assert await store.claim_delivery(["trigger-1"], TTL_S)

    assert await store.claim_delivery(["Ev9", "trigger-1", "Ev10"], TTL_S) is False

    # Nothing of the refused claim stuck: its other keys are still free.
    assert await store.claim_delivery(["Ev9"], TTL_S) is True
    assert await store.claim_delivery(["Ev10"], TTL_S) is True


async def test_repeated_keys_in_one_request_count_once(store: RunStore) -> None:
    assert await store.claim_delivery(["Ev1", "Ev1", "trigger"], TTL_S) is True
    assert await store.claim_delivery(["trigger"], TTL_S) is False


async def test_an_empty_claim_is_a_mistake(store: RunStore) -> None:
    with pytest.raises(ValueError, match="at least one key"):
        await store.claim_delivery([], TTL_S)


async def test_a_key_can_be_claimed_again_once_its_window_has_passed(
    store: RunStore, clock: FakeClock
) -> None:
    assert await store.claim_delivery(["Ev1"], TTL_S)
    clock.advance(TTL_S - 1)
    assert await store.claim_delivery(["Ev1"], TTL_S) is False
    clock.advance(1)
    assert await store.claim_delivery(["Ev1"], TTL_S) is True
    # ...and the new claim holds for a full window again.
    clock.advance(TTL_S - 1)
    assert await store.claim_delivery(["Ev1"], TTL_S) is False


async def test_expired_keys_are_forgotten(store: RunStore, clock: FakeClock) -> None:
    for n in range(5):
        assert await store.claim_delivery([f"old-{n}"], 10)
    assert await store.claim_delivery(["fresh"], TTL_S)
    clock.advance(10)

    assert await store.purge_deliveries() == 5
    assert await store.purge_deliveries() == 0
    assert await store.claim_delivery(["fresh"], TTL_S) is False


async def test_twenty_concurrent_claims_of_one_key_have_one_winner(store: RunStore) -> None:
    results = await asyncio.gather(*(store.claim_delivery(["Ev-race"], TTL_S) for _ in range(20)))
    assert results.count(True) == 1


async def test_overlapping_multi_key_claims_have_one_winner(store: RunStore) -> None:
    # Different orders of the same keys: a naive lock order would deadlock on PostgreSQL.
    claims = [["Ev-a", "trigger-a"], ["trigger-a", "Ev-a"]] * 10
    results = await asyncio.gather(*(store.claim_delivery(keys, TTL_S) for keys in claims))
    assert results.count(True) == 1


async def test_two_replicas_claiming_one_key_at_once_have_one_winner(
    database_url: str, clock: FakeClock
) -> None:
    first = await RunStore.open(database_url, clock=clock)
    second = await RunStore.open(database_url, clock=clock)
    try:
        results = await asyncio.gather(
            *(replica.claim_delivery(["Ev-shared"], TTL_S) for replica in [first, second] * 10)
        )
    finally:
        await first.close()
        await second.close()
    assert results.count(True) == 1


async def test_a_claim_survives_a_restart(database_url: str, clock: FakeClock) -> None:
    before = await RunStore.open(database_url, clock=clock)
    assert await before.claim_delivery(["Ev-before-restart"], TTL_S)
    await before.close()

    after = await RunStore.open(database_url, clock=clock)
    try:
        assert await after.claim_delivery(["Ev-before-restart"], TTL_S) is False
    finally:
        await after.close()
