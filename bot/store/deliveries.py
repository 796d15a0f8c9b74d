"""Delivery dedupe that survives restarts: Slack's delivery keys, kept for a time window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cache

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from bot.store.core import StoreCore
from bot.store.tables import UTCDateTime, deliveries

# Expired keys are overwritten when claimed again, so a sweep only keeps the table small.
_SWEEP_EVERY_S = 60.0


class _Rollback(Exception):
    """Abandon a claim transaction: some key was already taken."""


class DeliveryDedupe(StoreCore):
    """Remember which Slack deliveries were accepted, for as long as Slack may retry them."""

    _last_sweep: float | None = None

    async def claim_delivery(self, keys: Sequence[str], ttl_s: float) -> bool:
        """Claim every key of one request, or none of them.

        True when no key was held (expired claims do not count): all are then held for
        `ttl_s` seconds. False, and nothing changed, when any key is still held. Safe under
        concurrent callers, in this process or others: of two claims of one key, one wins.
        """
        # Unique (a row may not be upserted twice in one statement) and sorted (claims that
        # share keys lock them in one order, so two of them cannot deadlock on PostgreSQL).
        unique = sorted(set(keys))
        if not unique:
            raise ValueError("claim_delivery needs at least one key")
        now = self._now()
        expires = now + timedelta(seconds=ttl_s)
        claim = _claim(self._engine.dialect.name, len(unique))
        params: dict[str, object] = {"now": now, "expires": expires}
        params |= {f"key_{i}": key for i, key in enumerate(unique)}
        try:
            async with self._write() as db:
                claimed = (await db.execute(claim, params)).scalars().all()
                if len(claimed) != len(unique):
                    raise _Rollback
        except _Rollback:
            return False
        await self._sweep_now_and_then()
        return True

    async def purge_deliveries(self) -> int:
        """Forget every expired key; returns how many."""
        self._last_sweep = self._clock()
        async with self._write() as db:
            result = await db.execute(
                delete(deliveries).where(deliveries.c.expires_at <= self._now())
            )
        return result.rowcount

    async def _sweep_now_and_then(self) -> None:
        last = self._last_sweep
        if last is None or self._clock() - last >= _SWEEP_EVERY_S:
            await self.purge_deliveries()


@cache
def _claim(dialect: str, keys: int) -> ReturningInsert[tuple[str]]:
    """The claim of `keys` delivery keys, built once per dialect and number of keys (a
    statement built per call cost more CPU than the database's work: issue 21.5)."""
    insert = postgresql.insert(deliveries) if dialect == "postgresql" else sqlite.insert(deliveries)
    now, expires = bindparam("now", type_=UTCDateTime()), bindparam("expires", type_=UTCDateTime())
    rows = [
        {"delivery_key": bindparam(f"key_{i}"), "claimed_at": now, "expires_at": expires}
        for i in range(keys)
    ]
    # Insert a new key, or take over an expired one; a held key is left alone and so is
    # missing from RETURNING. The row lock (PostgreSQL) or the write lock (SQLite) makes
    # a concurrent claim of the same key wait for ours and then see it held.
    values = insert.values(rows)
    return values.on_conflict_do_update(
        index_elements=["delivery_key"],
        set_={
            "claimed_at": values.excluded.claimed_at,
            "expires_at": values.excluded.expires_at,
        },
        where=deliveries.c.expires_at <= now,
    ).returning(deliveries.c.delivery_key)
