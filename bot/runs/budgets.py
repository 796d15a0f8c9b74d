"""Daily budgets per person and per channel, on the run store's spend ledger.

`run_budget` gives each run the pipeline's `Budget`: every Claude call of the run holds its
worst case in the store first (atomically, for every process sharing the database) and
settles to its real cost when it returns, so parallel calls never cross a budget. Every
call's cost reaches the spend ledger this way, with or without limits, once.
`budget_refusal` is the private sentence for a request that cannot even start.

Days are UTC days: budgets reset at 00:00 UTC for everyone.

Installed in many workspaces, a person's and a channel's day are kept within their workspace
(`bot.slack.tenancy.scoped`): one workspace never pays for, or is refused by, another's runs.
"""

from __future__ import annotations

import enum
import logging
import math
from datetime import datetime, timedelta

from bot.config import Settings
from bot.deps import Deps
from bot.slack.tenancy import scoped, workspace_key
from bot.store import RunStore, StoreDown
from bot.store.spend import BudgetStanding
from pipeline import BudgetExceeded, PipelineConfig, Reservation, usd_text

logger = logging.getLogger(__name__)

BUDGETS_UNCHECKED = (
    "the daily budgets could not be checked (the run store did not answer), "
    "so no Claude call is made"
)


def hold_seconds(config: PipelineConfig) -> float:
    """How long a hold may stay unsettled before it counts as a dead process's: well past
    one call's timeout (a hold lives for one attempt)."""
    return max(2 * config.call_timeout_s, 300.0)


def resets_in(at: datetime) -> str:
    """Time from `at` to the next 00:00 UTC, for people: "3 h 10 min", "25 min"."""
    midnight = datetime(at.year, at.month, at.day, tzinfo=at.tzinfo) + timedelta(days=1)
    minutes = max(math.ceil((midnight - at).total_seconds() / 60), 1)
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _whose(standing: BudgetStanding) -> str:
    return "your daily budget" if standing.scope == "user" else "this channel's daily budget"


def _standing_text(standing: BudgetStanding, not_enough_for: str) -> str:
    return (
        f"{_whose(standing)} of {usd_text(standing.limit_usd)} has "
        f"{usd_text(standing.left_usd)} left, not enough for {not_enough_for}; it resets at "
        f"00:00 UTC (in {resets_in(standing.at)})."
    )


def stopped_sentence(standing: BudgetStanding) -> str:
    """Why a run stopped mid-way, for its thread."""
    return "This run stopped: " + _standing_text(standing, "the next call")


def refusal_sentence(standing: BudgetStanding) -> str:
    """Why a request cannot start, for its requester only."""
    text = _standing_text(standing, "a new run")
    return text[0].upper() + text[1:]


def least_run_usd(config: PipelineConfig) -> float:
    """The least a new run's first call holds: the plan call's `max_tokens` of output at
    the orchestrator's price (its input comes on top). 0 when the price is unknown."""
    price = config.price_for(config.orchestrator_model)
    return 0.0 if price is None else config.plan_max_tokens * price.output / 1_000_000


class _Held:
    """A hold in the store, settled once."""

    def __init__(self, store: RunStore, hold_id: str, run_id: str | None) -> None:
        self._store, self._hold_id, self._run_id = store, hold_id, run_id

    async def settle(self, actual_usd: float) -> None:
        try:
            await self._store.settle_spend(self._hold_id, actual_usd)
        except StoreDown:
            # The hold stays and, once expired, is charged in full: never under-counted.
            logger.exception("could not settle a budget hold [run_id=%s]", self._run_id)


class _Recorded:
    """No limit to hold against: the call's cost only goes to the ledger."""

    def __init__(self, budget: DailyBudget) -> None:
        self._budget = budget

    async def settle(self, actual_usd: float) -> None:
        if actual_usd <= 0:
            return
        budget = self._budget
        try:
            # Buffered (issue 21.5): no budget reads it call by call, so it goes with the
            # run's next write (a subtask's result, its end) or the store's timer; the
            # run's footer counts it meanwhile (`RunStore.run_cost`).
            await budget.store.record_spend(
                user=budget.user,
                channel=budget.channel,
                usd=actual_usd,
                run_id=budget.run_id,
                later=True,
            )
        except StoreDown:
            logger.exception("could not record spend [run_id=%s]", budget.run_id)


class DailyBudget:
    """The pipeline's `Budget` for one run: its requester's and its channel's day."""

    def __init__(
        self,
        store: RunStore,
        *,
        user: str,
        channel: str,
        user_limit: float | None,
        channel_limit: float | None,
        hold_s: float,
        run_id: str | None = None,
    ) -> None:
        self.store, self.user, self.channel, self.run_id = store, user, channel, run_id
        self._user_limit, self._channel_limit = user_limit, channel_limit
        self._hold_s = hold_s

    @property
    def limited(self) -> bool:
        """Whether any daily budget applies."""
        return self._user_limit is not None or self._channel_limit is not None

    async def reserve(self, usd: float) -> Reservation:
        """Hold `usd` of today's budgets, or raise BudgetExceeded saying which and why."""
        if not self.limited:
            return _Recorded(self)
        try:
            outcome = await self.store.reserve_spend(
                user=self.user,
                channel=self.channel,
                usd=usd,
                user_limit=self._user_limit,
                channel_limit=self._channel_limit,
                hold_s=self._hold_s,
                run_id=self.run_id,
            )
        except StoreDown:
            # A budget that cannot be checked is not spent on: the run stops, saying so.
            logger.exception("could not reserve against daily budgets [run_id=%s]", self.run_id)
            raise BudgetExceeded(
                f"This run stopped: {BUDGETS_UNCHECKED}.", why=BUDGETS_UNCHECKED
            ) from None
        if isinstance(outcome, BudgetStanding):
            logger.info(
                "daily %s budget refused $%.4f [run_id=%s]", outcome.scope, usd, self.run_id
            )
            raise BudgetExceeded(
                stopped_sentence(outcome), why=_standing_text(outcome, "the next call")
            )
        return _Held(self.store, outcome, self.run_id)


class _Env(enum.Enum):
    DEFAULT = "env"


# A channel's daily budget as ORCHESTRA_CHANNEL_DAILY_BUDGET_USD says (no channel setting
# consulted); a channel's settings pass their own (issue 24.4), None for none.
FROM_ENV = _Env.DEFAULT
ChannelLimit = float | None | _Env


def _channel_limit(settings: Settings, limit: ChannelLimit) -> float | None:
    return settings.channel_daily_budget_usd if isinstance(limit, _Env) else limit


def run_budget(
    deps: Deps,
    user: str,
    channel: str,
    run_id: str | None = None,
    *,
    channel_limit: ChannelLimit = FROM_ENV,
) -> DailyBudget:
    """The budget a run of `user` in `channel` passes to `run_pipeline(budget=...)`."""
    settings = deps.settings
    workspace = workspace_key()  # the run's: it runs in its workspace's context
    return DailyBudget(
        deps.store,
        user=scoped(workspace, user),
        channel=scoped(workspace, channel),
        user_limit=settings.user_daily_budget_usd,
        channel_limit=_channel_limit(settings, channel_limit),
        hold_s=hold_seconds(settings),
        run_id=run_id,
    )


async def budget_refusal(
    deps_or_store: Deps | RunStore,
    settings: Settings,
    user: str,
    channel: str,
    *,
    channel_limit: ChannelLimit = FROM_ENV,
) -> str | None:
    """The private sentence refusing a new run when a daily budget is already spent (what
    is left cannot hold even its first call), else None. The person's budget is checked
    before the channel's. Call it before posting anything or starting the run."""
    channel_usd = _channel_limit(settings, channel_limit)
    if settings.user_daily_budget_usd is None and channel_usd is None:
        return None
    store = deps_or_store.store if isinstance(deps_or_store, Deps) else deps_or_store
    workspace = workspace_key()
    try:
        standings = await store.budget_standings(
            user=scoped(workspace, user),
            channel=scoped(workspace, channel),
            user_limit=settings.user_daily_budget_usd,
            channel_limit=channel_usd,
        )
    except StoreDown:
        logger.exception("could not read daily budgets")
        return f"Not started: {BUDGETS_UNCHECKED}. Try again in a moment."
    least = least_run_usd(settings)
    for standing in standings:
        if standing.left_usd <= 0 or standing.left_usd < least:
            if isinstance(deps_or_store, Deps):
                deps_or_store.telemetry.meters.budget_refusals.add(1)
            return refusal_sentence(standing)
    return None
