"""Leases with fencing tokens, in Redis (two clients: two replicas) and in memory: one holder
at a time, renewal, release, takeover after expiry with a larger token, and the former
holder's writes refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from bot.coordination import Lease, Leases
from bot.coordination.leases import MemoryLeases, RedisLeases
from tests.coordination.conftest import LinkFactory

TTL_S = 0.5  # short, so that a real Redis lets it expire within the test


@dataclass
class Replicas:
    """Two replicas' views of the leases, and a way to let time pass for both."""

    a: Leases
    b: Leases
    wait: Callable[[float], Awaitable[None]]


@pytest.fixture(params=["redis", "memory"])
def replicas(request: pytest.FixtureRequest) -> Replicas:
    if request.param == "redis":
        new_link: LinkFactory = request.getfixturevalue("new_link")
        return Replicas(RedisLeases(new_link()), RedisLeases(new_link()), asyncio.sleep)
    now = [0.0]
    shared = MemoryLeases(clock=lambda: now[0])  # one process: both views are one

    async def advance(seconds: float) -> None:
        now[0] += seconds

    return Replicas(shared, shared, advance)


def held(lease: Lease | None) -> Lease:
    assert lease is not None
    return lease


async def test_one_holder_at_a_time(replicas: Replicas) -> None:
    first = held(await replicas.a.acquire("run:r1", "replica-a", TTL_S))
    assert await replicas.b.acquire("run:r1", "replica-b", TTL_S) is None
    assert await replicas.a.acquire("run:r1", "replica-a", TTL_S) is None  # not re-entrant
    other = held(await replicas.b.acquire("run:r2", "replica-b", TTL_S))
    assert other.token > first.token  # one counter for every resource


async def test_renewing_keeps_the_lease_past_its_first_expiry(replicas: Replicas) -> None:
    lease = held(await replicas.a.acquire("run:r1", "replica-a", TTL_S))
    for _ in range(3):
        await replicas.wait(TTL_S / 3)
        assert await replicas.a.renew(lease, TTL_S) is True
    assert await replicas.b.acquire("run:r1", "replica-b", TTL_S) is None
    assert await replicas.b.fence(lease) is True


async def test_a_released_lease_can_be_taken_at_once_with_a_larger_token(
    replicas: Replicas,
) -> None:
    lease = held(await replicas.a.acquire("run:r1", "replica-a", TTL_S))
    assert await replicas.a.release(lease) is True
    assert await replicas.a.release(lease) is False  # already gone
    successor = held(await replicas.b.acquire("run:r1", "replica-b", TTL_S))
    assert successor.token > lease.token


async def test_an_expired_lease_is_taken_over_and_its_former_holder_is_fenced_off(
    replicas: Replicas,
) -> None:
    old = held(await replicas.a.acquire("run:r1", "replica-a", TTL_S))
    assert await replicas.a.fence(old) is True
    await replicas.wait(TTL_S + 0.2)  # replica a stalls; its lease runs out
    # Expired, nobody took it yet: the old holder may still write (nobody else can).
    assert await replicas.a.fence(old) is True
    new = held(await replicas.b.acquire("run:r1", "replica-b", TTL_S))
    assert new.token > old.token
    # Replica a wakes up, still believing it owns the run: every step is refused.
    assert await replicas.a.fence(old) is False
    assert await replicas.a.renew(old, TTL_S) is False
    assert await replicas.a.release(old) is False
    assert await replicas.b.fence(new) is True
    assert await replicas.a.acquire("run:r1", "replica-a", TTL_S) is None


async def test_concurrent_acquires_across_replicas_have_one_winner(replicas: Replicas) -> None:
    tries = [
        leases.acquire("run:race", name, TTL_S)
        for leases, name in [(replicas.a, "replica-a"), (replicas.b, "replica-b")] * 20
    ]
    won = [lease for lease in await asyncio.gather(*tries) if lease is not None]
    assert len(won) == 1


async def test_fencing_tokens_only_grow(replicas: Replicas) -> None:
    tokens = []
    for n in range(5):
        lease = held(await replicas.a.acquire(f"run:r{n}", "replica-a", TTL_S))
        tokens.append(lease.token)
        await replicas.a.release(lease)
    assert tokens == sorted(set(tokens))
