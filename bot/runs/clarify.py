"""The clarifying question (issue 22.3): when the orchestrator asks one question instead of a
plan, the run's thread shows it and the run waits for its requester's answer; the requester's
next mention in that thread (in a DM, their next message in it) is the answer, not a steer.

The question lives in the store (`bot.store.questions`): an answer taken in by any replica
reaches the replica holding the run within `POLL_S`, and a restart keeps an open question
open with the same expiry (the resumed run waits again, without asking again). While it
waits the run holds no live slot and no budget hold, as a plan under review; it waits as long
as one (ORCHESTRA_REVIEW_TIMEOUT_S)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.render import messages as blocks
from bot.render import notes
from bot.slack.pacing import Priority
from bot.slack.requester import Requester
from bot.store import StoreDown
from bot.store.questions import RunQuestions
from bot.thread.dm import NativeRun
from bot.thread.owner import RunOwner
from pipeline import Clarification, QuestionUnanswered

logger = logging.getLogger(__name__)

POLL_S = 0.25  # how soon the holding replica sees an answer taken in by another one


class StoredClarify:
    """The pipeline's `Clarify` for one run, kept in the store."""

    def __init__(
        self,
        store: RunQuestions,
        run_id: str,
        timeout_s: float,
        *,
        show: Callable[[str, datetime], Awaitable[None]],
        step_out: Callable[[], Awaitable[None]],
        step_in: Callable[[], Awaitable[None]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store, self._run_id, self._timeout_s = store, run_id, timeout_s
        self._show, self._step_out, self._step_in = show, step_out, step_in
        self._now = now

    async def earlier(self) -> Clarification | None:
        found = await self._store.question_of(self._run_id)
        if found is None:
            return None
        if found.state == "open":
            return Clarification(found.question, await self._wait(found.expires_at))
        if found.state == "expired" or found.answer is None:
            raise QuestionUnanswered(notes.question_expired(self._timeout_s))
        return Clarification(found.question, found.answer)

    async def ask(self, question: str) -> str:
        expires_at = self._now() + timedelta(seconds=self._timeout_s)
        await self._store.ask_question(self._run_id, question, expires_at)
        logger.info("run asked a clarifying question [run_id=%s]", self._run_id)
        await self._show(question, expires_at)
        return await self._wait(expires_at)

    async def _wait(self, expires_at: datetime) -> str:
        await self._step_out()
        try:
            answer = await self._answer(expires_at)
        finally:
            await self._step_in()
        return answer

    async def _answer(self, expires_at: datetime) -> str:
        while True:
            try:
                found = await self._store.question_of(self._run_id)
            except StoreDown:
                logger.warning("run store: could not read a question [run_id=%s]", self._run_id)
                found = None
            if found is not None and found.state == "answered" and found.answer is not None:
                return found.answer
            expired = found is not None and found.state == "expired"
            if expired or self._now() >= expires_at:
                if expired or await self._store.expire_question(self._run_id):
                    raise QuestionUnanswered(notes.question_expired(self._timeout_s))
                continue  # answered at the last moment: it counts
            await asyncio.sleep(POLL_S)


def stored_clarify(deps: Deps, run: RunOwner) -> StoredClarify:
    """The run's `Clarify`: the question posted in its thread, the wait out of its slot."""
    admission = deps.runs.admission
    dm = isinstance(run, NativeRun)  # in a DM any message in the thread answers

    async def show(question: str, expires_at: datetime) -> None:
        text = notes.clarifying_question(run.requester_id, question, expires_at.timestamp(), dm)
        try:
            await deps.io.post(
                run.channel,
                blocks.notice_message(text),
                run.thread_ts,
                priority=Priority.URGENT,  # a person has to read it before anything goes on
            )
        except SlackApiError as exc:
            logger.warning(
                "question not posted: %s [run_id=%s]", exc.response.get("error"), run.run_id
            )

    async def step_out() -> None:
        await admission.step_out(run.run_id)

    async def step_in() -> None:
        await admission.step_in(run.run_id, run.waiting)

    return StoredClarify(
        deps.store,
        run.run_id,
        deps.settings.review_timeout_s,
        show=show,
        step_out=step_out,
        step_in=step_in,
    )


async def take_answer(deps: Deps, requester: Requester, *, thread_ts: str, text: str) -> bool:
    """Take `text` as the answer to the thread's open question when its requester wrote it;
    False when there is none or someone else wrote (their message may steer the run)."""
    channel, user = requester.channel, requester.user
    try:
        found = await deps.store.open_question_in_thread(channel, thread_ts)
    except StoreDown:
        logger.warning("run store: could not look for an open question in %s", channel)
        return False
    if found is None or found.requester != user:
        return False
    if not text.strip():
        await requester.tell(notes.ANSWER_EMPTY)
        return True
    try:
        taken = await deps.store.answer_question(found.run_id, user, text)
    except StoreDown:
        logger.exception("run store: could not save an answer [run_id=%s]", found.run_id)
        await requester.tell(notes.ANSWER_NOT_SAVED)
        return True
    if not taken:
        await requester.tell(notes.ANSWER_TOO_LATE)
        return True
    logger.info("question answered by %s [run_id=%s]", user, found.run_id)
    note = blocks.notice_message(notes.question_answered(user))
    try:
        await deps.io.post(channel, note, thread_ts=thread_ts, priority=Priority.URGENT, turn=user)
    except SlackApiError as exc:
        logger.warning(
            "answer note not posted: %s [run_id=%s]", exc.response.get("error"), found.run_id
        )
    return True
