"""Plans waiting for approval (issue 22.3): opened by the replica holding the run, decided
by whichever replica took the click or the modal's submit, kept across restarts with their
expiry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select, update

from bot.store.core import StoreCore
from bot.store.tables import reviews, runs, subtasks

ReviewState = Literal["awaiting", "approved", "expired"]


@dataclass(frozen=True, slots=True)
class StoredReview:
    """A run's plan review: where it stands, until when it may be approved, by whom it was."""

    run_id: str
    state: ReviewState
    expires_at: datetime
    decided_by: str | None
    edited: bool


def _state(value: str) -> ReviewState:
    return "approved" if value == "approved" else "expired" if value == "expired" else "awaiting"


class RunReviews(StoreCore):
    """Plan reviews of runs."""

    async def open_review(self, run_id: str, expires_at: datetime) -> StoredReview:
        """The run's review: opened now (awaiting, until `expires_at`) unless it has one
        already (a resumed run keeps its state and expiry)."""
        found = await self.review_of(run_id)
        if found is not None:
            return found
        async with self._write() as db:
            await db.execute(
                insert(reviews).values(
                    run_id=run_id, state="awaiting", expires_at=expires_at, updated_at=self._now()
                )
            )
        return StoredReview(run_id, "awaiting", expires_at, None, False)

    async def review_of(self, run_id: str) -> StoredReview | None:
        """The run's review, or None when its plan was never held for one."""
        async with self._read() as db:
            row = (await db.execute(select(reviews).where(reviews.c.run_id == run_id))).first()
        if row is None:
            return None
        return StoredReview(
            row.run_id, _state(row.state), row.expires_at, row.decided_by, bool(row.edited)
        )

    async def approve_review(
        self,
        run_id: str,
        by: str,
        plan: Mapping[str, object] | None = None,
        roles: Sequence[tuple[str, str]] = (),
    ) -> bool:
        """Approve the waiting plan (with `plan`: as edited, its subtasks `roles` replacing
        the stored ones); False when it is not waiting any more (approved, expired)."""
        now = self._now()
        async with self._write() as db:
            decided = await db.execute(
                update(reviews)
                .where(
                    reviews.c.run_id == run_id,
                    reviews.c.state == "awaiting",
                    reviews.c.expires_at > now,
                )
                .values(state="approved", decided_by=by, edited=plan is not None, updated_at=now)
            )
            if decided.rowcount == 0:
                return False
            if plan is not None:
                await db.execute(
                    update(runs).where(runs.c.run_id == run_id).values(plan=dict(plan))
                )
                await db.execute(subtasks.delete().where(subtasks.c.run_id == run_id))
                await db.execute(
                    subtasks.insert(),
                    [
                        {
                            "run_id": run_id,
                            "position": i,
                            "subtask_id": sid,
                            "role": role,
                            "state": "pending",
                            "updated_at": now,
                        }
                        for i, (sid, role) in enumerate(roles)
                    ],
                )
        return True

    async def expire_review(self, run_id: str) -> bool:
        """The waiting plan expired; False when it was decided first."""
        async with self._write() as db:
            expired = await db.execute(
                update(reviews)
                .where(reviews.c.run_id == run_id, reviews.c.state == "awaiting")
                .values(state="expired", updated_at=self._now())
            )
        return bool(expired.rowcount)
