"""Daily budget holds: atomic under concurrency (across stores too), settled once, and
charged in full when their process never settles them. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import RunStore
from bot.store.spend import BudgetStanding
from tests.store.conftest import FakeClock

HOLD_S = 600.0


@pytest.fixture
async def second_store(database_url: str, clock: FakeClock) -> AsyncIterator[RunStore]:
    """Another store on the same database: another process, as far as the database knows."""
    opened = await RunStore.open(database_url, clock=clock)
    yield opened
    await opened.close()


async def reserve(
    store: RunStore,
    usd: float,
    *,
    user: str = "U1",
    channel: str = "C1",
    user_limit: float | None = None,
    channel_limit: float | None = None,
) -> str | BudgetStanding:
    return await store.reserve_spend(
        user=user,
        channel=channel,
        usd=usd,
        user_limit=user_limit,
        channel_limit=channel_limit,
        hold_s=HOLD_S,
    )


async def test_twenty_concurrent_reservations_against_room_for_five_hold_exactly_five(
    store: RunStore, second_store: RunStore
) -> None:
    stores = [store, second_store] * 10
    results = await asyncio.gather(*(reserve(s, 1.0, user_limit=5.5) for s in stores))

    held = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, BudgetStanding)]
    assert len(held) == 5
    assert len(set(held)) == 5
    assert len(refused) == 15
    assert await store.held_today(user="U1") == pytest.approx(5.0)
    for standing in refused:
        assert standing.scope == "user"
        assert standing.limit_usd == 5.5
        assert standing.used_usd <= 5.0 + 1e-9


async def test_a_channel_budget_holds_across_people(
    store: RunStore, second_store: RunStore
) -> None:
    people = [f"U{i}" for i in range(12)]
    results = await asyncio.gather(
        *(
            reserve(s, 0.5, user=person, channel_limit=2.0, user_limit=10.0)
            for s in (store, second_store)
            for person in people
        )
    )

    assert sum(isinstance(r, str) for r in results) == 4
    refusals = [r for r in results if isinstance(r, BudgetStanding)]
    assert {r.scope for r in refusals} == {"channel"}
    assert {r.subject for r in refusals} == {"C1"}


async def test_settling_turns_a_hold_into_its_real_cost_and_frees_the_rest(
    store: RunStore,
) -> None:
    hold = await reserve(store, 3.0, user_limit=4.0)
    assert isinstance(hold, str)
    assert isinstance(await reserve(store, 3.0, user_limit=4.0), BudgetStanding)

    assert await store.settle_spend(hold, 0.75)

    assert await store.held_today(user="U1") == 0.0
    assert await store.spend_today(user="U1", channel="C1") == pytest.approx(0.75)
    assert isinstance(await reserve(store, 3.0, user_limit=4.0), str)
    assert not await store.settle_spend(hold, 0.75)  # settled once, never twice
    assert await store.spend_today(user="U1") == pytest.approx(0.75)


async def test_a_refusal_says_which_budget_and_what_is_left(
    store: RunStore, clock: FakeClock
) -> None:
    await store.record_spend(user="U1", channel="C9", usd=4.0)  # spent in another channel
    held = await reserve(store, 0.5, user_limit=5.0, channel_limit=100.0)
    assert isinstance(held, str)

    refused = await reserve(store, 1.0, user_limit=5.0, channel_limit=100.0)

    assert isinstance(refused, BudgetStanding)
    assert (refused.scope, refused.subject, refused.limit_usd) == ("user", "U1", 5.0)
    assert refused.used_usd == pytest.approx(4.5)
    assert refused.left_usd == pytest.approx(0.5)
    assert refused.at == datetime.fromtimestamp(clock.now, UTC)
    standings = await store.budget_standings(
        user="U1", channel="C1", user_limit=5.0, channel_limit=100.0
    )
    assert [(s.scope, s.used_usd) for s in standings] == [("user", 4.5), ("channel", 0.5)]


async def test_without_limits_a_reservation_always_holds(store: RunStore) -> None:
    held = await reserve(store, 1_000.0)
    assert isinstance(held, str)
    assert (
        await store.budget_standings(user="U1", channel="C1", user_limit=None, channel_limit=None)
        == []
    )


async def test_a_hold_survives_a_restart_and_is_charged_in_full_once_it_expires(
    database_url: str, clock: FakeClock
) -> None:
    crashed = await RunStore.open(database_url, clock=clock)
    hold = await reserve(crashed, 2.0, user_limit=5.0)
    assert isinstance(hold, str)
    await crashed.close()  # its call never settles

    store = await RunStore.open(database_url, clock=clock)
    try:
        assert await store.held_today(user="U1") == pytest.approx(2.0)
        assert isinstance(await reserve(store, 3.5, user_limit=5.0), BudgetStanding)

        clock.advance(HOLD_S - 1)
        assert await store.charge_expired_holds() == 0
        clock.advance(2)
        assert await store.charge_expired_holds() == 1

        assert await store.held_today(user="U1") == 0.0
        assert await store.spend_today(user="U1", channel="C1") == pytest.approx(2.0)
        assert not await store.settle_spend(hold, 0.1)  # too late: charged, not twice
        assert await store.spend_today(user="U1") == pytest.approx(2.0)
    finally:
        await store.close()


async def test_two_sweeps_charge_an_expired_hold_once(
    store: RunStore, second_store: RunStore, clock: FakeClock
) -> None:
    for _ in range(6):
        assert isinstance(await reserve(store, 0.5, user_limit=5.0), str)
    clock.advance(HOLD_S + 1)

    charged = await asyncio.gather(
        store.charge_expired_holds(), second_store.charge_expired_holds()
    )

    assert sum(charged) == 6
    assert await store.spend_today(user="U1") == pytest.approx(3.0)


async def test_a_hold_settles_to_the_day_it_was_reserved_on(
    store: RunStore, clock: FakeClock
) -> None:
    now = datetime.fromtimestamp(clock.now, UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    clock.now = (midnight - timedelta(seconds=5)).timestamp()
    hold = await reserve(store, 1.0, user_limit=1.5)
    assert isinstance(hold, str)
    clock.advance(10)  # past midnight: a new day, a fresh budget

    assert isinstance(await reserve(store, 1.5, user_limit=1.5), str)
    assert await store.settle_spend(hold, 0.25)
    yesterday = midnight.date() - timedelta(days=1)
    assert await store.spend_between(yesterday, yesterday, user="U1") == pytest.approx(0.25)


async def test_a_runs_cost_is_what_the_ledger_charged_for_it(
    store: RunStore, clock: FakeClock
) -> None:
    run_id = await store.create_run(
        workspace="T1", requester="U1", channel="C1", source="command", goal="tides"
    )
    holds = []
    for usd in (1.0, 2.0, 4.0):
        hold = await store.reserve_spend(
            user="U1",
            channel="C1",
            usd=usd,
            user_limit=10.0,
            channel_limit=None,
            hold_s=HOLD_S,
            run_id=run_id,
        )
        assert isinstance(hold, str)
        holds.append(hold)
    assert await store.run_cost(run_id) == 0.0  # nothing charged while calls are in flight
    assert await store.settle_spend(holds[0], 0.25)  # reported: its real cost
    await store.record_spend(user="U1", channel="C1", usd=0.5, run_id=run_id)  # no limit
    clock.advance(HOLD_S + 1)
    assert await store.charge_expired_holds() == 2  # never settled: charged in full

    assert await store.run_cost(run_id) == pytest.approx(0.25 + 0.5 + 2.0 + 4.0)
    assert await store.spend_today() == pytest.approx(await store.run_cost(run_id) or 0)
    assert await store.run_cost("no-such-run") is None
