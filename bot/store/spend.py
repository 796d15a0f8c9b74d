"""The spend ledger: US$ per UTC day, person and channel, kept through retention; the holds
that daily budgets reserve for calls in flight; and each run's cost.

One ledger: every charge (a call's settled cost, or the worst case of a call cut off before
Claude reported its usage) is added, in one transaction, to its day's spend and to its run's
`cost_usd`. The App Home tab's totals, history lines and each answer's footer read these
figures, so they always agree (they disagreed: the run's own count left out calls cut off,
and a Retry counted the reused subtasks of the run it retried)."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, Select, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.core import StoreCore
from bot.store.records import DaySpend
from bot.store.tables import budget_locks, runs, spend, spend_holds

logger = logging.getLogger(__name__)

BudgetScope = Literal["user", "channel"]

# Float sums in SQL round a little: "exactly the limit" must still fit.
_EPSILON_USD = 1e-9
# Expired holds are charged by whichever reservation comes along, at most this often.
_SWEEP_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class BudgetStanding:
    """One daily budget at `at`: its limit and what is used (spent and held) today."""

    scope: BudgetScope
    subject: str  # the person's or the channel's id
    limit_usd: float
    used_usd: float
    at: datetime  # the store's clock, UTC

    @property
    def left_usd(self) -> float:
        """What is left today (never below zero)."""
        return max(self.limit_usd - self.used_usd, 0.0)


class SpendLedger(StoreCore):
    """Add to and read the daily spend of people and channels (for budgets and App Home).

    Days are UTC days, so every replica and time zone agrees on when "today" starts.

    Daily budgets hold under parallel calls: `reserve_spend` holds a call's worst case
    (checking the day's spend plus every hold, and adding the hold, in one transaction that
    locks the person's and the channel's `budget_locks` rows: `SELECT ... FOR UPDATE` on
    PostgreSQL, the single writer on SQLite), and `settle_spend` turns the hold into spend.
    Holds are rows, so they survive a crash: a hold whose process died keeps counting and,
    once it expires, is charged in full (the call may have been billed; its real usage
    never came back), so a crash can only make a budget err on the safe side.
    """

    _next_sweep_at = 0.0  # the store's clock, seconds

    async def record_spend(
        self,
        *,
        user: str,
        channel: str,
        usd: float,
        at: datetime | None = None,
        run_id: str | None = None,
        later: bool = False,
    ) -> None:
        """Add `usd` to the day of `at` (default: now) for this person in this channel, and
        to the cost of run `run_id` (when given).

        Atomic under concurrent callers: the addition happens in the database. `later`
        (with a `run_id`): buffered, written with the run's next write (`bot.store.buffer`),
        for spend no daily budget needs call by call; `run_cost` counts it meanwhile.
        """
        if at is not None and at.tzinfo is None:
            raise ValueError("record_spend takes an aware datetime")
        day = (at or self._now()).astimezone(UTC).date()
        if later and run_id is not None:
            pending = self._buffer.spend_of(run_id)
            key = (day, user, channel)
            pending.spend[key] = pending.spend.get(key, 0.0) + usd
            pending.cost_usd += usd
            self._arm_flush()
            return
        async with self._write() as db:
            await self._add_spend(db, day, user, channel, usd, run_id)

    async def reserve_spend(
        self,
        *,
        user: str,
        channel: str,
        usd: float,
        user_limit: float | None,
        channel_limit: float | None,
        hold_s: float,
        run_id: str | None = None,
    ) -> str | BudgetStanding:
        """Hold `usd` of today's budgets of `user` and `channel` (a None limit: no limit),
        for run `run_id` (what the hold settles to is added to that run's cost).

        Returns the hold's id (give it to `settle_spend`), or the standing of the first
        budget that cannot hold `usd` (the person's, then the channel's); then nothing is
        held. An unsettled hold is charged in full `hold_s` seconds after now.
        """
        now = self._now()
        day = now.date()
        limits = _limits(user, channel, user_limit, channel_limit)
        hold_id = uuid.uuid4().hex
        async with self._write() as db:
            # Always person before channel: two reservations never wait on each other
            # in opposite orders, so they cannot deadlock.
            for scope, subject, _ in limits:
                await db.execute(
                    self._upsert(budget_locks)
                    .values(scope=scope, subject=subject)
                    .on_conflict_do_nothing()
                )
                await db.execute(
                    select(budget_locks.c.scope)
                    .where(budget_locks.c.scope == scope, budget_locks.c.subject == subject)
                    .with_for_update()
                )
            for scope, subject, limit in limits:
                # Read after the lock: on PostgreSQL each statement sees what the previous
                # holder of the lock committed.
                used = float((await db.execute(_used(day, scope, subject))).scalar_one())
                if used + usd > limit + _EPSILON_USD:
                    return BudgetStanding(scope, subject, limit, used, now)
            await db.execute(
                insert(spend_holds).values(
                    hold_id=hold_id,
                    day=day,
                    user_id=user,
                    channel_id=channel,
                    usd=usd,
                    created_at=now,
                    expires_at=now + timedelta(seconds=hold_s),
                    run_id=run_id,
                )
            )
        await self._sweep_now_and_then()
        return hold_id

    async def settle_spend(self, hold_id: str, usd: float) -> bool:
        """Replace a hold by `usd` of spend on the hold's day.

        Returns False when the hold is gone (it expired and was charged in full already;
        then nothing changes, so nothing is counted twice)."""
        async with self._write() as db:
            row = (
                await db.execute(
                    delete(spend_holds)
                    .where(spend_holds.c.hold_id == hold_id)
                    .returning(
                        spend_holds.c.day,
                        spend_holds.c.user_id,
                        spend_holds.c.channel_id,
                        spend_holds.c.run_id,
                    )
                )
            ).first()
            if row is None:
                return False
            if usd > 0:
                await self._add_spend(db, row.day, row.user_id, row.channel_id, usd, row.run_id)
        return True

    async def charge_expired_holds(self) -> int:
        """Charge every expired hold in full to the spend ledger; returns how many."""
        expired = (
            select(spend_holds.c.hold_id)
            .where(spend_holds.c.expires_at < self._now())
            # Two sweeps never charge one hold twice, nor wait on each other.
            .with_for_update(skip_locked=True)
        )
        async with self._write() as db:
            rows = (
                await db.execute(
                    delete(spend_holds)
                    .where(spend_holds.c.hold_id.in_(expired))
                    .returning(
                        spend_holds.c.day,
                        spend_holds.c.user_id,
                        spend_holds.c.channel_id,
                        spend_holds.c.usd,
                        spend_holds.c.run_id,
                    )
                )
            ).all()
            totals: defaultdict[tuple[date, str, str], float] = defaultdict(float)
            by_run: defaultdict[str, float] = defaultdict(float)
            for row in rows:
                totals[(row.day, row.user_id, row.channel_id)] += row.usd
                if row.run_id is not None:
                    by_run[row.run_id] += row.usd
            for (day, user, channel), usd in sorted(totals.items()):  # one lock order
                await self._add_spend(db, day, user, channel, usd)
            for run_id, usd in sorted(by_run.items()):
                await _add_to_run(db, run_id, usd)
        if rows:
            logger.warning("charged %d expired budget holds in full", len(rows))
        return len(rows)

    async def budget_standings(
        self,
        *,
        user: str,
        channel: str,
        user_limit: float | None,
        channel_limit: float | None,
    ) -> list[BudgetStanding]:
        """Today's standing of each budget that has a limit (the person's first)."""
        now = self._now()
        standings = []
        async with self._read() as db:
            for scope, subject, limit in _limits(user, channel, user_limit, channel_limit):
                used = float((await db.execute(_used(now.date(), scope, subject))).scalar_one())
                standings.append(BudgetStanding(scope, subject, limit, used, now))
        return standings

    async def held_today(self, *, user: str | None = None, channel: str | None = None) -> float:
        """US$ held today for calls in flight, filtered as `spend_today`."""
        conditions = [spend_holds.c.day == self._today()]
        if user is not None:
            conditions.append(spend_holds.c.user_id == user)
        if channel is not None:
            conditions.append(spend_holds.c.channel_id == channel)
        query = select(func.coalesce(func.sum(spend_holds.c.usd), 0.0)).where(*conditions)
        async with self._read() as db:
            return float((await db.execute(query)).scalar_one())

    async def spend_today(
        self, *, user: str | None = None, channel: str | None = None, workspace: str = ""
    ) -> float:
        """US$ spent today (UTC), by a person, in a channel, both, or (neither) in total.

        Settled spend only: calls in flight are in `held_today`."""
        today = self._today()
        return await self.spend_between(
            today, today, user=user, channel=channel, workspace=workspace
        )

    async def spend_this_month(
        self, *, user: str | None = None, channel: str | None = None, workspace: str = ""
    ) -> float:
        """US$ spent since the first of this month (UTC), filtered as `spend_today`."""
        today = self._today()
        return await self.spend_between(
            today.replace(day=1), today, user=user, channel=channel, workspace=workspace
        )

    async def spend_between(
        self,
        first: date,
        last: date,
        *,
        user: str | None = None,
        channel: str | None = None,
        workspace: str = "",
    ) -> float:
        """US$ spent from day `first` to day `last`, both included. `workspace` (installed
        in many workspaces): only its spend, whose subjects are kept as `workspace/id`
        (`bot.coordination.counts.scoped`); "": everything (one workspace)."""
        query = select(func.coalesce(func.sum(spend.c.usd), 0.0)).where(
            *_filters(first, last, user, channel)
        )
        if workspace:
            query = query.where(spend.c.user_id.startswith(f"{workspace}/", autoescape=True))
        async with self._read() as db:
            total = (await db.execute(query)).scalar_one()
        return float(total)

    async def spend_by_day(
        self, first: date, last: date, *, user: str | None = None, channel: str | None = None
    ) -> list[DaySpend]:
        """US$ per day from `first` to `last` (days without spend left out), oldest first."""
        query = (
            select(spend.c.day, func.sum(spend.c.usd))
            .where(*_filters(first, last, user, channel))
            .group_by(spend.c.day)
            .order_by(spend.c.day)
        )
        async with self._read() as db:
            rows = (await db.execute(query)).all()
        return [DaySpend(day=day, usd=float(usd)) for day, usd in rows]

    async def run_cost(self, run_id: str) -> float | None:
        """What the ledger has charged for run `run_id` so far (None: no such run, or its
        cost is unknown: a model without a price took part)."""
        query = select(runs.c.cost_usd, runs.c.finished_at).where(runs.c.run_id == run_id)
        async with self._read() as db:
            row = (await db.execute(query)).first()
        if row is None or (row.cost_usd is None and row.finished_at is not None):
            return None
        return float(row.cost_usd or 0.0) + self._buffer.cost_usd(run_id)  # buffered too

    def _today(self) -> date:
        return self._now().date()

    async def _add_spend(
        self,
        db: AsyncConnection,
        day: date,
        user: str,
        channel: str,
        usd: float,
        run_id: str | None = None,
    ) -> None:
        insert_ = self._upsert(spend).values(day=day, user_id=user, channel_id=channel, usd=usd)
        await db.execute(
            insert_.on_conflict_do_update(
                index_elements=["day", "user_id", "channel_id"],
                set_={"usd": spend.c.usd + insert_.excluded.usd},
            )
        )
        if run_id is not None:
            await _add_to_run(db, run_id, usd)

    async def _sweep_now_and_then(self) -> None:
        now = self._clock()
        if now < self._next_sweep_at:
            return
        self._next_sweep_at = now + _SWEEP_EVERY_S
        try:
            await self.charge_expired_holds()
        except (SQLAlchemyError, OSError):
            # Housekeeping: expired holds keep counting until a later sweep charges them.
            logger.exception("could not charge expired budget holds")


async def _add_to_run(db: AsyncConnection, run_id: str, usd: float) -> None:
    """Add `usd` to a run's cost (a run not stored, say its row could not be written, has
    none: its spend still counts for its day)."""
    await db.execute(
        update(runs)
        .where(runs.c.run_id == run_id)
        .values(cost_usd=func.coalesce(runs.c.cost_usd, 0.0) + usd)
    )


def _limits(
    user: str, channel: str, user_limit: float | None, channel_limit: float | None
) -> list[tuple[BudgetScope, str, float]]:
    limits: list[tuple[BudgetScope, str, float]] = []
    if user_limit is not None:
        limits.append(("user", user, user_limit))
    if channel_limit is not None:
        limits.append(("channel", channel, channel_limit))
    return limits


def _used(day: date, scope: BudgetScope, subject: str) -> Select[float]:
    """Today's spend plus holds of one person or channel, in one statement."""
    spent_by = spend.c.user_id if scope == "user" else spend.c.channel_id
    held_by = spend_holds.c.user_id if scope == "user" else spend_holds.c.channel_id
    spent = (
        select(func.coalesce(func.sum(spend.c.usd), 0.0))
        .where(spend.c.day == day, spent_by == subject)
        .scalar_subquery()
    )
    held = (
        select(func.coalesce(func.sum(spend_holds.c.usd), 0.0))
        .where(spend_holds.c.day == day, held_by == subject)
        .scalar_subquery()
    )
    return select(spent + held)


def _filters(
    first: date, last: date, user: str | None, channel: str | None
) -> list[ColumnElement[bool]]:
    conditions = [spend.c.day >= first, spend.c.day <= last]
    if user is not None:
        conditions.append(spend.c.user_id == user)
    if channel is not None:
        conditions.append(spend.c.channel_id == channel)
    return conditions
