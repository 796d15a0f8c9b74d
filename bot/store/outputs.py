"""Full outputs posted on demand: each subtask's once, across replicas and restarts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from bot.store.core import StoreCore
from bot.store.records import OutputClaim
from bot.store.tables import output_posts

# A claim whose poster never recorded a message (it died, or Slack refused every post) may
# be taken again after this long: a slow post in a busy channel still lands well within it.
STALE_CLAIM_S = 300.0


class OutputPosts(StoreCore):
    """Who posts a subtask's full output, and where it went."""

    async def claim_output(
        self, run_id: str, subtask_id: str, *, stale_s: float = STALE_CLAIM_S
    ) -> OutputClaim:
        """Claim posting the output: `won` for the first caller (then `output_posted`, or
        `release_output` if nothing landed); for the others, where it is (`ts`), or None
        while it is being posted. Of two callers at once, in any processes, one wins."""
        now = self._now()
        insert = self._upsert(output_posts).values(
            run_id=run_id, subtask_id=subtask_id, ts=None, claimed_at=now
        )
        claim = insert.on_conflict_do_update(
            index_elements=["run_id", "subtask_id"],
            set_={"claimed_at": insert.excluded.claimed_at},
            where=(output_posts.c.ts.is_(None))
            & (output_posts.c.claimed_at <= now - timedelta(seconds=stale_s)),
        ).returning(output_posts.c.run_id)
        async with self._write() as db:
            if (await db.execute(claim)).first() is not None:
                return OutputClaim(won=True, ts=None)
            ts = (
                await db.execute(
                    select(output_posts.c.ts).where(
                        output_posts.c.run_id == run_id, output_posts.c.subtask_id == subtask_id
                    )
                )
            ).scalar_one_or_none()
        return OutputClaim(won=False, ts=ts)

    async def output_posted(self, run_id: str, subtask_id: str, ts: str) -> None:
        """The claimed output's first message is `ts`: later clicks are pointed there."""
        async with self._write() as db:
            await db.execute(
                update(output_posts)
                .where(output_posts.c.run_id == run_id, output_posts.c.subtask_id == subtask_id)
                .values(ts=ts)
            )

    async def release_output(self, run_id: str, subtask_id: str) -> None:
        """Nothing of the claimed output landed: the next click may post it."""
        async with self._write() as db:
            await db.execute(
                delete(output_posts).where(
                    output_posts.c.run_id == run_id,
                    output_posts.c.subtask_id == subtask_id,
                    output_posts.c.ts.is_(None),
                )
            )
