"""Plan reviews in the store (issue 22.3): a review keeps its state and expiry (a resumed run
finds it as it was), is decided once (approved or expired, whichever comes first), an edited
plan replaces the stored one; and the retention pass deletes steers with the run's texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import RunStore, StoredUsage
from tests.store.conftest import FakeClock


async def _run(store: RunStore) -> str:
    run_id = await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="command", goal="goal"
    )
    await store.save_plan(run_id, {"goal": "g"}, [("s1", "one"), ("s2", "two")])
    return run_id


def _at(clock: FakeClock, seconds: float) -> datetime:
    return datetime.fromtimestamp(clock() + seconds, UTC)


async def test_a_review_is_kept_as_opened(store: RunStore, clock: FakeClock) -> None:
    run_id = await _run(store)
    opened = await store.open_review(run_id, _at(clock, 3600))
    again = await store.open_review(run_id, _at(clock, 7200))  # a resumed run: the same one
    assert again == opened
    assert again.state == "awaiting"
    assert again.expires_at == _at(clock, 3600)


async def test_approval_is_decided_once(store: RunStore, clock: FakeClock) -> None:
    run_id = await _run(store)
    await store.open_review(run_id, _at(clock, 3600))
    assert await store.approve_review(run_id, "U1")
    assert not await store.approve_review(run_id, "U1")
    assert not await store.expire_review(run_id)
    found = await store.review_of(run_id)
    assert found is not None
    assert (found.state, found.decided_by, found.edited) == ("approved", "U1", False)


async def test_no_approval_past_the_expiry(store: RunStore, clock: FakeClock) -> None:
    run_id = await _run(store)
    await store.open_review(run_id, _at(clock, 10))
    clock.advance(11)
    assert not await store.approve_review(run_id, "U1")
    assert await store.expire_review(run_id)


async def test_an_edited_plan_replaces_the_stored_one(store: RunStore, clock: FakeClock) -> None:
    run_id = await _run(store)
    await store.open_review(run_id, _at(clock, 3600))
    assert await store.approve_review(run_id, "U1", {"goal": "edited"}, [("s2", "two, edited")])
    stored = await store.get_run(run_id)
    assert stored is not None
    assert stored.plan == {"goal": "edited"}
    assert [(s.subtask_id, s.role) for s in stored.subtasks] == [("s2", "two, edited")]


async def test_retention_deletes_steers_with_the_runs_texts(
    store: RunStore, clock: FakeClock
) -> None:
    run_id = await _run(store)
    await store.add_steer(run_id, "U2", "focus on costs")
    await store.finish_run(run_id, "succeeded", "none", "answer", StoredUsage())
    clock.advance(timedelta(days=91).total_seconds())
    await store.purge(older_than_days=90)
    assert await store.steers(run_id) == []
