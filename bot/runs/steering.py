"""Steering a live run from its thread (issue 22.2): a mention of the app in the thread of a
run that is still going (in a DM, any message in its thread) steers it instead of starting
a run. The steer is stored with the run, so whichever replica took the mention in, the
replica running the run reads it as each subagent call and the integrator start
(`StoredSteering`, the pipeline's steering source), and a resumed run keeps it. The note
"Steering noted …" is posted by the replica that took the mention, at once."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.render import messages as blocks
from bot.render import notes
from bot.slack.pacing import Priority
from bot.slack.requester import Requester
from bot.store import RunStore, StoreDown
from pipeline import Steer

logger = logging.getLogger(__name__)


class StoredSteering:
    """One run's steers as the store has them (the pipeline's `Steering` source). While the
    store does not answer, the steers last read stand: the run goes on with what it knew."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self._store = store
        self._run_id = run_id
        self._known: tuple[Steer, ...] = ()

    async def __call__(self) -> Sequence[Steer]:
        try:
            stored = await self._store.steers(self._run_id)
        except StoreDown:
            logger.warning(
                "run store: steers not read; using the last read [run_id=%s]", self._run_id
            )
            return self._known
        self._known = tuple(Steer(f"<@{s.by}>", s.text) for s in stored)
        return self._known


async def _thread_run(deps: Deps, channel: str, thread_ts: str) -> tuple[str, str] | None:
    """The run going on in the thread (its id and requester), here or on another replica."""
    here = [r for r in deps.runs.running if r.channel == channel and r.thread_ts == thread_ts]
    going = [r for r in here if not r.ended]
    if going:
        return going[-1].run_id, going[-1].requester_id
    if here:
        return None  # its answer is out: a mention now is a follow-up
    try:
        found = await deps.store.live_run_in_thread(channel, thread_ts)
    except StoreDown:
        logger.warning("run store: could not look for a live run in %s", channel)
        return None
    if found is None or deps.runs.get(found.run_id) is not None:
        return None  # none, or ours and over (the store is a moment behind)
    return found.run_id, found.requester


async def steer(deps: Deps, requester: Requester, *, thread_ts: str, text: str) -> bool:
    """Steer the thread's live run with `text` (or tell the person why not); False when the
    thread has no run going (the message then asks for a run of its own)."""
    channel, user = requester.channel, requester.user
    found = await _thread_run(deps, channel, thread_ts)
    if found is None:
        return False
    run_id, owner = found
    if deps.settings.steer_by == "requester" and user != owner:
        await requester.tell(notes.only_requester(owner, "steer"))
        return True
    if not text.strip():
        await requester.tell(notes.STEER_EMPTY)
        return True
    try:
        await deps.store.add_steer(run_id, user, text)
    except StoreDown:
        logger.exception("run store: could not save a steer [run_id=%s]", run_id)
        await requester.tell(notes.STEER_NOT_SAVED)
        return True
    logger.info("run steered by %s [run_id=%s]", user, run_id)
    note = blocks.notice_message(notes.steering_noted(user, text))
    # A person just wrote and waits to see it taken: ahead of plan edits and other runs' posts.
    try:
        await deps.io.post(channel, note, thread_ts=thread_ts, priority=Priority.URGENT, turn=user)
    except SlackApiError as exc:
        # The steer is kept and the run gets it; only the note is missing.
        logger.warning(
            "steering note not posted: %s [run_id=%s]", exc.response.get("error"), run_id
        )
    return True
