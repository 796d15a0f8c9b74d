"""The bot's daily budget adapter: its sentences, and what it does when the store fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.runs.budgets import DailyBudget, budget_refusal, resets_in, stopped_sentence
from bot.store import RunStore, StoreDown
from bot.store.spend import BudgetStanding
from pipeline import BudgetExceeded


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(f"sqlite:///{tmp_path / 'orchestra.db'}")
    yield opened
    await opened.close()


def budget(store: RunStore, user_limit: float | None = 1.0) -> DailyBudget:
    return DailyBudget(
        store, user="U1", channel="C1", user_limit=user_limit, channel_limit=None, hold_s=60
    )


async def unreachable(*args: object, **kwargs: object) -> None:
    raise StoreDown("the run store did not answer (OSError)")  # as the store raises it


@pytest.mark.parametrize(
    ("at", "left"),
    [
        (datetime(2026, 11, 27, 20, 50, tzinfo=UTC), "3 h 10 min"),
        (datetime(2026, 11, 27, 23, 35, 10, tzinfo=UTC), "25 min"),
        (datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC), "1 min"),
        (datetime(2026, 11, 27, 0, 0, tzinfo=UTC), "24 h"),
    ],
)
def test_the_time_to_the_reset_reads_well(at: datetime, left: str) -> None:
    assert resets_in(at) == left


def test_a_stopped_run_says_which_budget_what_is_left_and_when_it_resets() -> None:
    at = datetime(2026, 11, 27, 20, 50, tzinfo=UTC)
    mine = BudgetStanding("user", "U1", 5.0, 4.88, at)
    assert stopped_sentence(mine) == (
        "This run stopped: your daily budget of $5.00 has $0.12 left, not enough for the "
        "next call; it resets at 00:00 UTC (in 3 h 10 min)."
    )
    channel = BudgetStanding("channel", "C1", 20.0, 25.0, at)
    assert stopped_sentence(channel).startswith(
        "This run stopped: this channel's daily budget of $20.00 has $0.00 left"
    )


async def test_a_store_that_cannot_reserve_stops_the_run_saying_so(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "reserve_spend", unreachable)
    with pytest.raises(BudgetExceeded, match="could not be checked"):
        await budget(store).reserve(0.01)


async def test_a_settle_the_store_refuses_is_logged_and_the_hold_stays(
    store: RunStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    hold = await budget(store).reserve(0.25)
    monkeypatch.setattr(store, "settle_spend", unreachable)
    await hold.settle(0.1)  # never raises into the run
    assert "could not settle" in caplog.text
    assert await store.held_today(user="U1") == 0.25  # charged in full once it expires


async def test_without_limits_calls_are_only_recorded(store: RunStore) -> None:
    hold = await budget(store, user_limit=None).reserve(1_000.0)
    assert await store.held_today() == 0.0
    await hold.settle(0.5)
    assert await store.spend_today(user="U1", channel="C1") == 0.5


async def test_no_budgets_refuse_nothing_without_asking_the_store(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "budget_standings", unreachable)
    settings = Settings(_env_file=None)
    assert await budget_refusal(store, settings, "U1", "C1") is None


async def test_a_budget_too_low_for_a_first_call_is_refused_up_front(store: RunStore) -> None:
    settings = Settings(_env_file=None, user_daily_budget_usd=0.07)
    assert await budget_refusal(store, settings, "U1", "C1") is None
    # The plan call alone may write 4,096 tokens at Sonnet's $15/MTok: about $0.06.
    await store.record_spend(user="U1", channel="C2", usd=0.01)
    refusal = await budget_refusal(store, settings, "U1", "C1")
    assert refusal is not None
    assert refusal.startswith("Your daily budget of $0.07 has $0.06 left, not enough for a new")


async def test_a_store_that_cannot_be_read_refuses_up_front_saying_so(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "budget_standings", unreachable)
    settings = Settings(_env_file=None, channel_daily_budget_usd=5)
    refusal = await budget_refusal(store, settings, "U1", "C1")
    assert refusal is not None
    assert "could not be checked" in refusal
