"""Run ownership in the store: born owned, taken over only after the lease ran out, and every
write under an older fence refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import Fence, Fenced, RunStore, StoredUsage
from tests.store.conftest import FakeClock, stored

LEASE_S = 15.0
ROLES = [("a", "first"), ("b", "second")]


async def _owned_run(store: RunStore, owner: str = "replica-a") -> Fence:
    run_id = await store.create_run(
        workspace="T1",
        requester="U1",
        channel="C1",
        source="command",
        goal="compare teas",
        owner=owner,
        lease_s=LEASE_S,
    )
    return Fence(run_id, owner, 1)


async def test_a_run_born_owned_is_not_takeable_until_its_lease_runs_out(
    store: RunStore, clock: FakeClock
) -> None:
    fence = await _owned_run(store)
    run = await stored(store, fence.run_id)
    assert (run.owner, run.fencing_token) == ("replica-a", 1)
    assert await store.runs_to_take() == []
    assert await store.take_run(fence.run_id, "replica-b", LEASE_S) is None

    clock.advance(LEASE_S + 1)
    assert await store.runs_to_take() == [fence.run_id]
    taken = await store.take_run(fence.run_id, "replica-b", LEASE_S)
    assert taken == Fence(fence.run_id, "replica-b", 2)
    assert await store.runs_to_take() == []


async def test_a_renewed_lease_keeps_the_run_and_a_taken_one_cannot_be_renewed(
    store: RunStore, clock: FakeClock
) -> None:
    fence = await _owned_run(store)
    clock.advance(LEASE_S - 1)
    assert await store.renew_run_lease(fence, LEASE_S)
    clock.advance(LEASE_S - 1)
    assert await store.take_run(fence.run_id, "replica-b", LEASE_S) is None

    clock.advance(2)
    assert await store.take_run(fence.run_id, "replica-b", LEASE_S) is not None
    assert not await store.renew_run_lease(fence, LEASE_S)
    assert not await store.release_run(fence)


async def test_writes_under_an_old_fence_are_refused_and_change_nothing(
    store: RunStore, clock: FakeClock
) -> None:
    old = await _owned_run(store)
    await store.save_plan(old.run_id, {"subtasks": []}, ROLES, fence=old)
    await store.save_subtask(old.run_id, "a", "done", output="A", fence=old)
    clock.advance(LEASE_S + 1)
    new = await store.take_run(old.run_id, "replica-b", LEASE_S)
    assert new is not None

    refused = [
        store.mark_running(old.run_id, fence=old),
        store.set_thread(old.run_id, "1.0", fence=old),
        store.save_context(old.run_id, "late", fence=old),
        store.save_plan(old.run_id, {"subtasks": []}, [("x", "other")], fence=old),
        store.save_subtask(old.run_id, "b", "done", output="late", fence=old),
        store.add_answer_ts(old.run_id, "9.9", fence=old),
        store.finish_run(old.run_id, "succeeded", "none", "late", StoredUsage(), fence=old),
        store.mark_paused([old.run_id], fence=old),
    ]
    for write in refused:
        with pytest.raises(Fenced):
            await write

    await store.save_subtask(new.run_id, "b", "done", output="B", fence=new)
    run = await stored(store, old.run_id)
    assert [(s.subtask_id, s.output) for s in run.subtasks] == [("a", "A"), ("b", "B")]
    assert run.status == "queued"
    assert run.answer_ts == ()
    assert run.thread_ts is None


async def test_a_released_run_is_takeable_at_once_only_while_unfinished(
    store: RunStore,
) -> None:
    paused = await _owned_run(store)
    await store.mark_paused([paused.run_id], fence=paused)
    assert await store.release_run(paused)
    assert await store.runs_to_take() == [paused.run_id]

    done = await _owned_run(store)
    await store.finish_run(done.run_id, "succeeded", "none", "A", StoredUsage(), fence=done)
    assert await store.release_run(done)
    assert await store.take_run(done.run_id, "replica-b", LEASE_S) is None
    assert await store.runs_to_take() == [paused.run_id]


async def test_of_many_concurrent_takeovers_exactly_one_wins(
    store: RunStore, clock: FakeClock
) -> None:
    fence = await _owned_run(store)
    clock.advance(LEASE_S + 1)
    taken = await asyncio.gather(
        *(store.take_run(fence.run_id, f"replica-{n}", LEASE_S) for n in range(10))
    )
    winners = [t for t in taken if t is not None]
    assert len(winners) == 1
    assert winners[0].token == 2
    assert (await stored(store, fence.run_id)).owner == winners[0].owner


async def test_runs_without_an_owner_are_takeable_and_get_a_first_token(store: RunStore) -> None:
    run_id = await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="command", goal="from before"
    )
    assert await store.runs_to_take() == [run_id]
    assert await store.take_run(run_id, "replica-a", LEASE_S) == Fence(run_id, "replica-a", 1)
