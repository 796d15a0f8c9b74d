"""Plan review (issue 22.3): with review on, the run's plan waits for its requester's Approve
(or an edit, which approves) before any subagent call, and expires after
`ORCHESTRA_REVIEW_TIMEOUT_S`.

The review lives in the store (`bot.store.reviews`): an Approve or a submitted edit taken in
by any replica decides it there, and the replica holding the run sees it within `POLL_S`; a
restart keeps a waiting plan waiting with the same expiry. While it waits the run holds no
live slot (`Admission.step_out`) and no budget hold (calls reserve their budget as they
start, and none starts)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.render import notes
from bot.store import StoreError
from bot.store.reviews import RunReviews
from pipeline import Plan, ReviewExpired

logger = logging.getLogger(__name__)

POLL_S = 0.25  # how soon the holding replica sees a decision taken on another one


def review_wanted(settings: Settings, asked: bool | None) -> bool:
    """Whether a request's plan waits for approval: what it asked (--review, --no-review,
    --deep), else ORCHESTRA_PLAN_REVIEW."""
    return asked if asked is not None else settings.plan_review == "always"


class StoredReview:
    """The pipeline's `Review` for one run, kept in the store."""

    def __init__(
        self,
        store: RunReviews,
        run_id: str,
        requester: str,
        timeout_s: float,
        *,
        show: Callable[[str], Awaitable[None]],
        step_out: Callable[[], Awaitable[None]],
        step_in: Callable[[], Awaitable[None]],
        read_plan: Callable[[], Awaitable[Plan | None]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store, self._run_id, self._requester = store, run_id, requester
        self._timeout_s = timeout_s
        self._show, self._step_out, self._step_in = show, step_out, step_in
        self._read_plan = read_plan
        self._now = now

    async def __call__(self, plan: Plan) -> Plan:
        opened = await self._store.open_review(
            self._run_id, self._now() + timedelta(seconds=self._timeout_s)
        )
        if opened.state == "expired":
            raise ReviewExpired(notes.review_expired(self._timeout_s))
        if opened.state == "awaiting":
            await self._show(notes.review_waiting(self._requester, opened.expires_at.timestamp()))
            await self._step_out()
            try:
                await self._wait(opened.expires_at)
            finally:
                await self._show("")
            await self._step_in()
        found = await self._store.review_of(self._run_id)
        if found is not None and found.edited:
            edited = await self._read_plan()
            if edited is not None:
                return edited
        return plan

    async def _wait(self, expires_at: datetime) -> None:
        while True:
            try:
                found = await self._store.review_of(self._run_id)
            except StoreError:
                logger.warning("run store: could not read a plan review [run_id=%s]", self._run_id)
                found = None
            if found is not None and found.state == "approved":
                return
            if self._now() >= expires_at or (found is not None and found.state == "expired"):
                if await self._store.expire_review(self._run_id) or (
                    found is not None and found.state == "expired"
                ):
                    raise ReviewExpired(notes.review_expired(self._timeout_s))
                continue  # approved at the last moment: it counts
            await asyncio.sleep(POLL_S)
