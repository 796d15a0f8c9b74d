"""The spend ledger: US$ per UTC day, person and channel, kept through retention."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, func, select

from bot.store.core import StoreCore
from bot.store.records import DaySpend
from bot.store.tables import spend


class SpendLedger(StoreCore):
    """Add to and read the daily spend of people and channels (for budgets and App Home).

    Days are UTC days, so every replica and time zone agrees on when "today" starts.
    """

    async def record_spend(
        self, *, user: str, channel: str, usd: float, at: datetime | None = None
    ) -> None:
        """Add `usd` to the day of `at` (default: now) for this person in this channel.

        Atomic under concurrent callers: the addition happens in the database.
        """
        if at is not None and at.tzinfo is None:
            raise ValueError("record_spend takes an aware datetime")
        day = (at or self._now()).astimezone(UTC).date()
        insert = self._upsert(spend).values(day=day, user_id=user, channel_id=channel, usd=usd)
        add = insert.on_conflict_do_update(
            index_elements=["day", "user_id", "channel_id"],
            set_={"usd": spend.c.usd + insert.excluded.usd},
        )
        async with self._write() as db:
            await db.execute(add)

    async def spend_today(self, *, user: str | None = None, channel: str | None = None) -> float:
        """US$ spent today (UTC), by a person, in a channel, both, or (neither) in total."""
        today = self._today()
        return await self.spend_between(today, today, user=user, channel=channel)

    async def spend_this_month(
        self, *, user: str | None = None, channel: str | None = None
    ) -> float:
        """US$ spent since the first of this month (UTC), filtered as `spend_today`."""
        today = self._today()
        return await self.spend_between(today.replace(day=1), today, user=user, channel=channel)

    async def spend_between(
        self, first: date, last: date, *, user: str | None = None, channel: str | None = None
    ) -> float:
        """US$ spent from day `first` to day `last`, both included."""
        query = select(func.coalesce(func.sum(spend.c.usd), 0.0)).where(
            *_filters(first, last, user, channel)
        )
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

    def _today(self) -> date:
        return self._now().date()


def _filters(
    first: date, last: date, user: str | None, channel: str | None
) -> list[ColumnElement[bool]]:
    conditions = [spend.c.day >= first, spend.c.day <= last]
    if user is not None:
        conditions.append(spend.c.user_id == user)
    if channel is not None:
        conditions.append(spend.c.channel_id == channel)
    return conditions
