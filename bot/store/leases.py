"""Run ownership in the store: which replica owns an unfinished run, until when, and under
which fencing token (the runs table's `owner`, `lease_until`, `fencing_token`).

The store is where ownership is finally decided: taking a run over is one conditional
UPDATE (only a run whose lease has run out, and it raises the token), and every journal
write of the owner is checked against its `Fence` in the same transaction
(`StoreCore._write`). Redis leases (`bot.coordination.leases`) sit in front of it, so that
replicas rarely race here at all (`bot.runs.ownership` uses both)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, func, or_, select, update

from bot.store.core import Fence, StoreCore
from bot.store.records import ACTIVE_STATUSES, UNFINISHED_STATUSES, CountedRun
from bot.store.tables import runs


class RunLeases(StoreCore):
    """Take, renew and give up runs' leases; find the runs nobody holds."""

    async def runs_to_take(self, limit: int = 100) -> list[str]:
        """Unfinished runs whose lease ran out or that have none, oldest first: what a
        replica may take over (a paused run's lease was given up when it paused)."""
        now = self._now()
        query = (
            select(runs.c.run_id)
            .where(
                runs.c.status.in_(UNFINISHED_STATUSES),
                or_(runs.c.lease_until.is_(None), runs.c.lease_until <= now),
            )
            .order_by(runs.c.created_at, runs.c.run_id)
            .limit(limit)
        )
        async with self._read() as db:
            return [row.run_id for row in await db.execute(query)]

    async def counted_runs(self) -> list[CountedRun]:
        """Every queued or running run, each with whether it holds a live slot now (running
        under a lease that has not run out): what the replicas' counts in Redis hold."""
        now = self._now()
        query = select(
            runs.c.run_id,
            runs.c.requester,
            runs.c.status,
            runs.c.lease_until,
            runs.c.created_at,
            runs.c.workspace,
        ).where(runs.c.status.in_(ACTIVE_STATUSES))
        async with self._read() as db:
            rows = (await db.execute(query)).all()
        return [
            CountedRun(
                run_id=row.run_id,
                requester=row.requester,
                holds_slot=row.status == "running"
                and row.lease_until is not None
                and row.lease_until > now,
                age_s=max(0.0, (now - row.created_at).total_seconds()),
                workspace=row.workspace,
            )
            for row in rows
        ]

    async def take_run(self, run_id: str, owner: str, lease_s: float) -> Fence | None:
        """Become the owner of an unfinished run whose lease ran out (or that has none),
        for `lease_s`, under a token larger than any before it. None when the run is held
        by someone else, finished, or unknown. Of two replicas taking one run, one wins."""
        now = self._now()
        statement = (
            update(runs)
            .where(
                runs.c.run_id == run_id,
                runs.c.status.in_(UNFINISHED_STATUSES),
                or_(runs.c.lease_until.is_(None), runs.c.lease_until <= now),
            )
            .values(
                owner=owner,
                fencing_token=func.coalesce(runs.c.fencing_token, 0) + 1,
                lease_until=now + timedelta(seconds=lease_s),
            )
            .returning(runs.c.fencing_token)
        )
        async with self._write() as db:
            token = (await db.execute(statement)).scalar_one_or_none()
        return None if token is None else Fence(run_id, owner, int(token))

    async def renew_run_lease(self, fence: Fence, lease_s: float) -> bool:
        """Extend the lease by `lease_s` from now; False if the run is no longer owned under
        `fence` (another replica took it over)."""
        now = self._now()
        async with self._write() as db:
            result = await db.execute(
                update(runs)
                .where(*_held(fence))
                .values(lease_until=now + timedelta(seconds=lease_s))
            )
        return result.rowcount > 0

    async def release_run(self, fence: Fence) -> bool:
        """Give the lease up (the run ended or paused here): another replica may take the
        run at once if it is unfinished. False if it was not held under `fence` any more."""
        async with self._write() as db:
            result = await db.execute(update(runs).where(*_held(fence)).values(lease_until=None))
        return result.rowcount > 0


def _held(fence: Fence) -> tuple[ColumnElement[bool], ...]:
    return (
        runs.c.run_id == fence.run_id,
        runs.c.owner == fence.owner,
        runs.c.fencing_token == fence.token,
    )
