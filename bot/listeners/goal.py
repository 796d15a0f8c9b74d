"""Turning what a person typed into a goal, or a clear reason it cannot be one."""

from __future__ import annotations

import re
import unicodedata

from bot.research import USAGE_HINT
from pipeline import PipelineConfig

_LEADING_MENTIONS = re.compile(r"^(\s*<@[A-Z0-9]+(\|[^>]*)?>\s*)+")


def strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    """The mention's text without the bot's own `<@BOT>` (leading mentions, or the bot's)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return _LEADING_MENTIONS.sub("", text)


def clean_text(text: str) -> str:
    """Control characters removed (newlines and tabs kept), surrounding space stripped."""
    kept = (ch for ch in text if ch in "\n\t" or not unicodedata.category(ch).startswith("C"))
    return "".join(kept).strip()


def goal_problem(goal: str, config: PipelineConfig, command: str) -> str | None:
    """Why `goal` cannot start a run (a sentence for the requester), or None."""
    if not goal:
        return USAGE_HINT.format(command=command)
    if len(goal) > config.max_goal_chars:
        return (
            f"That goal is {len(goal):,} characters long; the limit is "
            f"{config.max_goal_chars:,}. Please shorten it and ask again."
        )
    return None
