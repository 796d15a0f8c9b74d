"""Words that ask about Orchestra rather than for research: `help`, `history` and `settings`
(its modal: `bot.listeners.settings`), typed
after the slash command, in a mention or in a DM. Each is answered privately and starts
nothing (the words were read as goals and started runs on "help" and "history")."""

from __future__ import annotations

import logging
from typing import Any, Literal

from bot.deps import Deps
from bot.render import notes
from bot.render.history import HISTORY_SIZE, history_blocks, history_text
from bot.slack.requester import Requester
from bot.store import StoreDown

logger = logging.getLogger(__name__)

Keyword = Literal["help", "history", "settings"]
_KEYWORDS: tuple[Keyword, ...] = ("help", "history", "settings")


def keyword(goal: str) -> Keyword | None:
    """The keyword `goal` is (case and a closing `?`, `!` or `.` aside), or None."""
    word = goal.strip().rstrip("?!.").strip().lower()
    return next((k for k in _KEYWORDS if k == word), None)


async def history_message(
    deps: Deps, user: str, channel: str
) -> tuple[str, list[dict[str, Any]]] | str:
    """A conversation's latest runs that `user` may see, as text and blocks (a slash
    command's private reply); a sentence when they cannot be read."""
    try:
        runs = await deps.store.recent_runs(
            channel=channel, limit=HISTORY_SIZE, workspace=deps.team.team_id
        )
    except StoreDown:
        logger.exception("run store: could not read history")
        return notes.HISTORY_UNREADABLE
    # The reply is the person's alone: the runs listed are those they may see, whoever
    # else is in the conversation.
    shown = await deps.visibility.visible(user, runs)
    return history_blocks(shown.runs, channel, deps.team.url, complete=shown.complete)


async def answer(deps: Deps, requester: Requester, word: Keyword, *, dm: bool) -> None:
    """Answer a keyword in a mention or a DM, privately. In a DM (the person's own place
    with the app) `history` lists the person's runs; elsewhere the conversation's."""
    if word == "help":
        await requester.tell(notes.help_text(deps.settings.command))
        return
    if word == "settings":  # a modal needs a command's trigger (issue 24.4)
        await requester.tell(notes.SETTINGS_IN_COMMAND.format(command=deps.settings.command))
        return
    user, channel = requester.user, requester.channel
    try:
        runs = await deps.store.recent_runs(
            channel=None if dm else channel,
            requester=user if dm else None,
            limit=HISTORY_SIZE,
            workspace=deps.team.team_id,
        )
    except StoreDown:
        logger.exception("run store: could not read history")
        await requester.tell(notes.HISTORY_UNREADABLE)
        return
    shown = await deps.visibility.visible(user, runs)
    text = history_text(
        shown.runs,
        notes.HISTORY_MINE if dm else notes.history_here(channel),
        deps.team.url,
        empty=notes.HISTORY_MINE_EMPTY if dm else notes.HISTORY_EMPTY,
        complete=shown.complete,
    )
    # It may list runs others in the conversation may not see: never said in public.
    await requester.tell(notes.Private(text, instead=notes.HISTORY_NOT_SHOWN))
