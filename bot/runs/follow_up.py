"""A suggested follow-up question, clicked (issue 23.3): a new run in the answer's thread, asked
by whoever clicked (their limits and budgets, through the one intake), with the previous
answer and its sources as the orchestrator's context.

The context goes in the earlier conversation's slot (`<thread_context>`, escaped as data like
every thread message), so the answer cannot close its section or forge another; it is cut to
what the orchestrator reads of a context (`max_context_chars`), the answer's start kept."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.deps import Deps
from bot.render import notes
from bot.runs.intake import Ask, Verdict, accept
from bot.runs.launch import ResearchRequest, launch
from bot.runs.resume import PRESS_HOLD_S, Press, requester_of
from bot.store import RunSource, StoredRun
from pipeline import Source

logger = logging.getLogger(__name__)

_CUT = "\n[… the rest of the answer is left out here]"


def follow_up_context(answer: str, sources: Sequence[Source], max_chars: int) -> str:
    """The previous answer and its numbered sources as one context text of at most
    `max_chars` (the answer cut first; the sources are what its citations point to)."""
    listed = "\n".join(
        f"[{n}] {' '.join(s.title.split()) or s.url} — {s.url}"
        for n, s in enumerate(sources, start=1)
    )
    head = "This question follows up on the previous answer in this thread:\n\n"
    tail = f"\n\nIts sources:\n{listed}" if listed else ""
    room = max_chars - len(head) - len(tail)
    if room < 200:  # too many sources to leave room for the answer: the answer matters more
        tail, room = "", max_chars - len(head)
    body = answer.strip()
    if len(body) > room:
        body = body[: max(0, room - len(_CUT))] + _CUT
    return (head + body + tail)[:max_chars]


async def follow_up(
    deps: Deps, parent: StoredRun, question: str, sources: Sequence[Source], press: Press
) -> None:
    """Start the follow-up run for the presser, in `parent`'s thread (its DM streams
    natively there, as the first run did)."""
    requester = requester_of(deps, parent, press.user)
    answer = parent.answer or ""

    async def judge() -> Verdict:
        if not parent.thread_ts or not answer.strip():
            return notes.DOWNLOAD_GONE  # the answer it follows is gone (retention)
        return None

    source: RunSource = "dm" if parent.source == "dm" else "button"
    context = follow_up_context(answer, sources, deps.config.max_context_chars)

    async def start(run_id: str) -> None:
        request = ResearchRequest(
            user=press.user,
            channel=parent.channel,
            goal=question,
            source=source,
            thread_ts=parent.thread_ts,
            context=context,
            root_ts=parent.root_ts or (parent.thread_ts if parent.source == "command" else None),
        )
        logger.info("follow-up of %s asked by %s [run_id=%s]", parent.run_id, press.user, run_id)
        await launch(deps, request, requester, run_id=run_id, note=notes.following_up(press.user))

    ask = Ask(
        requester,
        start,
        # One run per person and button: a double-click is two clicks to Slack.
        keys=[f"follow:{press.channel}:{press.message_ts}:{press.user}:{question[:80]}"],
        hold_s=PRESS_HOLD_S,
        repeat=notes.PRESSED_ALREADY,
        judge=judge,
    )
    await accept(deps, ask)
