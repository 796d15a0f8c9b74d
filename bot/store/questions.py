"""Clarifying questions (issue 22.3): asked by the replica holding the run, answered through
whichever replica took the requester's mention, kept across restarts with their expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select, update

from bot.store.core import StoreCore
from bot.store.records import UNFINISHED_STATUSES
from bot.store.tables import questions, runs

QuestionState = Literal["open", "answered", "expired"]


@dataclass(frozen=True, slots=True)
class StoredQuestion:
    """A run's question: what was asked, until when, and the answer once given."""

    run_id: str
    question: str
    state: QuestionState
    expires_at: datetime
    answer: str | None
    answered_by: str | None


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A thread's open question, as the listener needs it: whose answer it waits for."""

    run_id: str
    requester: str


def _state(value: str) -> QuestionState:
    return "answered" if value == "answered" else "expired" if value == "expired" else "open"


class RunQuestions(StoreCore):
    """Clarifying questions of runs."""

    async def ask_question(self, run_id: str, question: str, expires_at: datetime) -> None:
        """Keep the run's question, open until `expires_at` (a run asks one)."""
        async with self._write() as db:
            await db.execute(
                insert(questions).values(
                    run_id=run_id,
                    question=question,
                    state="open",
                    expires_at=expires_at,
                    updated_at=self._now(),
                )
            )

    async def question_of(self, run_id: str) -> StoredQuestion | None:
        """The run's question, or None when it asked none."""
        async with self._read() as db:
            row = (await db.execute(select(questions).where(questions.c.run_id == run_id))).first()
        if row is None:
            return None
        return StoredQuestion(
            row.run_id, row.question, _state(row.state), row.expires_at, row.answer, row.answered_by
        )

    async def answer_question(self, run_id: str, by: str, answer: str) -> bool:
        """Answer the run's open question; False when it is not open (answered, expired)."""
        async with self._write() as db:
            result = await db.execute(
                update(questions)
                .where(questions.c.run_id == run_id, questions.c.state == "open")
                .values(state="answered", answer=answer, answered_by=by, updated_at=self._now())
            )
        return bool(result.rowcount)

    async def expire_question(self, run_id: str) -> bool:
        """Close the run's open question unanswered; False when it was answered first."""
        async with self._write() as db:
            result = await db.execute(
                update(questions)
                .where(questions.c.run_id == run_id, questions.c.state == "open")
                .values(state="expired", updated_at=self._now())
            )
        return bool(result.rowcount)

    async def open_question_in_thread(self, channel: str, thread_ts: str) -> OpenQuestion | None:
        """The open question of the thread's unfinished run (on any replica), or None."""
        async with self._read() as db:
            row = (
                await db.execute(
                    select(runs.c.run_id, runs.c.requester)
                    .join(questions, questions.c.run_id == runs.c.run_id)
                    .where(
                        runs.c.channel == channel,
                        runs.c.thread_ts == thread_ts,
                        runs.c.status.in_(UNFINISHED_STATUSES),
                        questions.c.state == "open",
                    )
                    .order_by(runs.c.created_at.desc())
                    .limit(1)
                )
            ).first()
        return OpenQuestion(row.run_id, row.requester) if row is not None else None
