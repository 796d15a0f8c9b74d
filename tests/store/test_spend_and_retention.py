"""The spend ledger, and retention: old texts go, spend and counts stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.store import DaySpend, PurgeCounts, RunStore, StoredUsage
from tests.store.conftest import FakeClock, stored

DAY_S = 86_400.0


def _today(clock: FakeClock) -> date:
    return datetime.fromtimestamp(clock.now, UTC).date()


async def test_spend_adds_up_per_person_per_channel_and_per_day(
    store: RunStore, clock: FakeClock
) -> None:
    yesterday = datetime.fromtimestamp(clock.now, UTC) - timedelta(days=1)
    await store.record_spend(user="U1", channel="C1", usd=1.0, at=yesterday)
    await store.record_spend(user="U1", channel="C1", usd=0.25)
    await store.record_spend(user="U1", channel="C2", usd=0.5)
    await store.record_spend(user="U2", channel="C1", usd=2.0)
    await store.record_spend(user="U2", channel="C1", usd=0.125)

    assert await store.spend_today() == pytest.approx(2.875)
    assert await store.spend_today(user="U1") == pytest.approx(0.75)
    assert await store.spend_today(channel="C1") == pytest.approx(2.375)
    assert await store.spend_today(user="U2", channel="C1") == pytest.approx(2.125)
    assert await store.spend_today(user="nobody") == 0.0
    today = _today(clock)
    assert await store.spend_by_day(today - timedelta(days=7), today, user="U1") == [
        DaySpend(today - timedelta(days=1), 1.0),
        DaySpend(today, 0.75),  # exact: binary fractions add up without rounding
    ]


async def test_spend_this_month_starts_on_the_first(store: RunStore, clock: FakeClock) -> None:
    today = _today(clock)
    first = datetime(today.year, today.month, 1, tzinfo=UTC)
    await store.record_spend(user="U1", channel="C1", usd=4.0, at=first - timedelta(seconds=1))
    await store.record_spend(user="U1", channel="C1", usd=1.5, at=first)
    await store.record_spend(user="U1", channel="C1", usd=0.5)

    assert await store.spend_this_month() == pytest.approx(2.0)
    assert await store.spend_this_month(user="U1", channel="C1") == pytest.approx(2.0)


async def test_a_new_utc_day_starts_from_zero(store: RunStore, clock: FakeClock) -> None:
    await store.record_spend(user="U1", channel="C1", usd=3.0)
    clock.advance(DAY_S)
    assert await store.spend_today(user="U1") == 0.0
    assert await store.spend_between(_today(clock) - timedelta(days=1), _today(clock)) == 3.0


async def test_concurrent_spend_loses_no_cent(store: RunStore) -> None:
    await asyncio.gather(
        *(store.record_spend(user="U1", channel="C1", usd=0.01) for _ in range(50))
    )
    assert await store.spend_today(user="U1") == pytest.approx(0.5)


async def _finished_run(store: RunStore, goal: str, cost: float) -> str:
    run_id = await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="command", goal=goal, context="ctx"
    )
    await store.save_plan(run_id, {"restatement": goal}, [("a", "role a"), ("b", "role b")])
    await store.save_subtask(
        run_id, "a", "done", output="out", sources=[{"url": "https://x.org"}], usage=StoredUsage(5)
    )
    await store.save_subtask(run_id, "b", "failed", error="boom")
    await store.record_spend(user="U1", channel="C1", usd=cost, run_id=run_id)
    await store.finish_run(run_id, "partial", "none", "answer", StoredUsage(7, 3))
    return run_id


async def test_purge_empties_old_texts_but_keeps_rows_costs_and_spend(
    store: RunStore, clock: FakeClock
) -> None:
    start = datetime.fromtimestamp(clock.now, UTC)
    old = await _finished_run(store, "old goal", 1.0)
    live_old = await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="mention", goal="still running"
    )
    await store.mark_running(live_old)
    clock.advance(80 * DAY_S)
    recent = await _finished_run(store, "recent goal", 2.0)
    clock.advance(11 * DAY_S)
    spend_before = await store.spend_between(start.date(), _today(clock))

    counts = await store.purge(older_than_days=90)

    assert counts == PurgeCounts(runs=1, subtasks=2, deliveries=0)
    purged = await store.get_run(old)
    assert purged is not None
    assert (purged.goal, purged.context, purged.plan, purged.answer) == ("", None, None, None)
    assert [(s.role, s.output, s.sources, s.error) for s in purged.subtasks] == [
        ("", None, (), None)
    ] * 2
    assert [s.state for s in purged.subtasks] == ["done", "failed"]
    assert (purged.status, purged.cost_usd, purged.usage) == ("partial", 1.0, StoredUsage(7, 3))
    assert purged.purged_at == datetime.fromtimestamp(clock.now, UTC)
    assert (await stored(store, recent)).goal == "recent goal"
    assert (await stored(store, live_old)).goal == "still running"
    assert await store.spend_between(start.date(), _today(clock)) == spend_before == 3.0
    assert await store.spend_since(start) == pytest.approx(3.0)
    assert len(await store.recent_runs()) == 3
    assert await store.purge(older_than_days=90) == PurgeCounts(0, 0, 0)


async def test_purge_also_forgets_expired_delivery_keys(store: RunStore, clock: FakeClock) -> None:
    assert await store.claim_delivery(["Ev1", "Ev2"], 60)
    clock.advance(61)
    assert (await store.purge(older_than_days=90)).deliveries == 2


async def test_spend_refuses_a_time_without_a_zone(store: RunStore) -> None:
    with pytest.raises(ValueError, match="aware"):
        await store.record_spend(user="U1", channel="C1", usd=1.0, at=datetime(2026, 1, 1))
