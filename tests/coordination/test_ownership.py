"""Run ownership across replicas (`bot.runs.ownership`): a real Redis (leases) and a run store
on disk (fences), two "replicas" being two Ownerships with their own Redis clients.

The rule under test: a replica may take a run over only once both its Redis lease and its
row's lease have run out, and the former owner has stopped writing (`may_write`) before
that moment, whatever it could or could not reach meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.coordination import Lease, RedisDown, RedisLink, redis_coordination
from bot.coordination.leases import RedisLeases
from bot.runs.ownership import Ownership, Tenure, lease_name
from bot.store import Fence, RunStore, StoreDown
from tests.coordination.conftest import LinkFactory

LEASE_S = 0.6


class FlakyStore(RunStore):
    """A run store whose lease writes fail while `down` (the database unreachable), and
    take `slow_s` longer than they should (a busy database or replica)."""

    down = False
    slow_s = 0.0

    async def renew_run_lease(self, fence: Fence, lease_s: float) -> bool:
        await asyncio.sleep(self.slow_s)
        if self.down:
            raise StoreDown("the run store did not answer (OSError)")
        return await super().renew_run_lease(fence, lease_s)


class FlakyLeases(RedisLeases):
    """Leases in a Redis that this replica cannot reach while `down`."""

    down = False

    async def renew(self, lease: Lease, ttl_s: float) -> bool:
        if self.down:
            raise RedisDown("Redis is unreachable (test)")
        return await super().renew(lease, ttl_s)

    async def acquire(self, resource: str, owner: str, ttl_s: float) -> Lease | None:
        if self.down:
            raise RedisDown("Redis is unreachable (test)")
        return await super().acquire(resource, owner, ttl_s)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FlakyStore]:
    opened = await FlakyStore.open(f"sqlite:///{tmp_path / 'orchestra.db'}")
    yield opened
    await opened.close()


def replica(
    link: RedisLink,
    store: RunStore,
    name: str,
    leases: RedisLeases | None = None,
    lease_s: float = LEASE_S,
) -> Ownership:
    coordination = redis_coordination(link, store, replica=name)
    if leases is not None:
        coordination = dataclasses.replace(coordination, leases=leases)
    return Ownership(coordination, store, lease_s)


async def new_run(store: RunStore, owner: Ownership) -> Tenure:
    """A run begun by `owner`, stored owned by it."""
    run_id = f"run-{time.monotonic_ns()}"
    tenure = await owner.begin(run_id)
    await store.create_run(
        run_id=run_id,
        workspace="T1",
        requester="U1",
        channel="C1",
        source="command",
        goal="g",
        owner=owner.replica,
        lease_s=owner.lease_s,
    )
    return tenure


async def keep_for(owner: Ownership, tenure: Tenure, seconds: float) -> asyncio.Task[None]:
    keeper = asyncio.create_task(owner.keep(tenure))
    await asyncio.sleep(seconds)
    return keeper


async def stop(keeper: asyncio.Task[None]) -> None:
    keeper.cancel()
    await asyncio.gather(keeper, return_exceptions=True)


async def test_a_kept_run_cannot_be_taken_and_a_released_one_is_taken_at_once(
    new_link: LinkFactory, store: FlakyStore
) -> None:
    a, b = replica(new_link(), store, "a"), replica(new_link(), store, "b")
    tenure = await new_run(store, a)
    keeper = await keep_for(a, tenure, LEASE_S * 3)
    assert tenure.may_write()
    assert await b.take(tenure.run_id) is None
    await stop(keeper)

    await a.release(tenure)
    assert not tenure.may_write()
    taken = await b.take(tenure.run_id)
    assert taken is not None
    assert taken.fence == Fence(tenure.run_id, "b", 2)


async def test_a_dead_replicas_run_is_taken_only_after_its_lease_ran_out(
    new_link: LinkFactory, store: FlakyStore
) -> None:
    a, b = replica(new_link(), store, "a"), replica(new_link(), store, "b")
    tenure = await new_run(store, a)  # never renewed: the replica died
    assert await b.take(tenure.run_id) is None
    await asyncio.sleep(LEASE_S + 0.1)
    assert await b.take(tenure.run_id) is not None


async def test_the_store_alone_keeps_a_run_while_redis_is_down(
    new_link: LinkFactory, dead_link: RedisLink, store: FlakyStore
) -> None:
    live = new_link()
    a, b = replica(dead_link, store, "a"), replica(live, store, "b")
    tenure = await new_run(store, a)
    assert tenure.lease is None  # Redis did not answer: the run starts on its row alone
    keeper = await keep_for(a, tenure, LEASE_S * 3)
    assert tenure.may_write()
    assert await b.take(tenure.run_id) is None  # Redis lease free, the row still held
    assert not keeper.done()
    await stop(keeper)


async def test_redis_alone_keeps_a_run_while_the_store_is_down(
    new_link: LinkFactory, store: FlakyStore
) -> None:
    a, b = replica(new_link(), store, "a"), replica(new_link(), store, "b")
    tenure = await new_run(store, a)
    store.down = True
    keeper = await keep_for(a, tenure, LEASE_S * 3)
    assert tenure.may_write()
    store.down = False
    assert await b.take(tenure.run_id) is None  # the row's lease ran out, not the lease
    await stop(keeper)


async def test_with_both_down_the_owner_stops_writing_before_anyone_can_take_over(
    new_link: LinkFactory, store: FlakyStore
) -> None:
    lease_s = 1.2  # a margin of 0.2 s: room for the take below to be slow on a busy machine
    owners_link = new_link()
    leases = FlakyLeases(owners_link)
    a = replica(owners_link, store, "a", leases, lease_s)
    b = replica(new_link(), store, "b", lease_s=lease_s)
    tenure = await new_run(store, a)
    keeper = asyncio.create_task(a.keep(tenure))
    await asyncio.sleep(lease_s / 2)
    store.down = leases.down = True  # this replica reaches neither

    taken: Tenure | None = None
    async with asyncio.timeout(lease_s * 4):
        while taken is None:
            writable_before = tenure.may_write()
            taken = await b.take(tenure.run_id)
            if taken is not None:
                # Whenever the other replica could take the run, the owner had stopped.
                assert not writable_before
            await asyncio.sleep(0.02)
    await asyncio.wait_for(keeper, lease_s)  # it noticed, and returned
    assert tenure.lost
    assert not tenure.may_write()


async def test_a_write_waits_for_a_late_renewal_instead_of_being_dropped(
    new_link: LinkFactory, store: FlakyStore
) -> None:
    # Found by three loaded replicas: a renewal came after `until - margin`, the answer's post
    # was refused as "not the owner", and since the renewal then succeeded nobody took the
    # run over: the answer was lost. A write in that window waits for the renewal.
    owners_link = new_link()
    leases = FlakyLeases(owners_link)
    a = replica(owners_link, store, "a", leases)
    tenure = await new_run(store, a)
    leases.down = True  # the row alone holds the run...
    store.slow_s = LEASE_S * 0.6  # ...and each renewal of it lands late
    keeper = asyncio.create_task(a.keep(tenure))
    async with asyncio.timeout(LEASE_S * 4):
        while tenure.may_write():  # noqa: ASYNC110 (the window is the tenure's clock)
            await asyncio.sleep(0.005)
    assert not tenure.lost
    assert await asyncio.wait_for(tenure.writable(), LEASE_S * 2)
    assert tenure.may_write()
    await stop(keeper)


async def test_a_write_is_refused_once_the_run_is_lost_or_nobody_renews_it() -> None:
    now = [10.0]
    late = Tenure("r", None, None, 10.0, -math.inf, margin_s=0.1, lease_s=0.6, clock=lambda: now[0])
    waiting = asyncio.create_task(late.writable(poll_s=0.001))
    await asyncio.sleep(0.02)
    assert not waiting.done()  # a renewal may still come
    late.lost = True
    assert not await asyncio.wait_for(waiting, 1)

    stopped = dataclasses.replace(late, lost=False)
    waiting = asyncio.create_task(stopped.writable(poll_s=0.001))
    await asyncio.sleep(0.02)
    now[0] = 10.6  # a whole lease past `until` with no renewal: the keeper has stopped
    assert not await asyncio.wait_for(waiting, 1)

    assert await Tenure.solo("r").writable()


async def test_a_paused_owner_finds_its_run_taken_and_is_fenced(
    new_link: LinkFactory, store: FlakyStore
) -> None:
    a, b = replica(new_link(), store, "a"), replica(new_link(), store, "b")
    tenure = await new_run(store, a)
    await asyncio.sleep(LEASE_S + 0.1)  # a is paused (a GC, SIGSTOP): no renewal
    taken = await b.take(tenure.run_id)
    assert taken is not None
    assert not tenure.may_write()
    await asyncio.wait_for(a.keep(tenure), LEASE_S)  # returns at once: lost
    assert tenure.lost
    assert tenure.fence is not None
    with pytest.raises(Exception, match=tenure.run_id):
        await store.set_thread(tenure.run_id, "1.0", fence=tenure.fence)


async def test_lost_redis_keys_are_acquired_again_while_the_store_says_the_run_is_ours(
    new_link: LinkFactory, store: FlakyStore
) -> None:
    link = new_link()
    a = replica(link, store, "a")
    tenure = await new_run(store, a)
    await link.client.delete(link.key("lease", lease_name(tenure.run_id)))  # Redis restarted
    keeper = await keep_for(a, tenure, LEASE_S)
    assert tenure.lease is not None
    assert await link.client.get(link.key("lease", lease_name(tenure.run_id))) == (
        tenure.lease.value
    )
    assert tenure.may_write()
    await stop(keeper)
