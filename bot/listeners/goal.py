"""Turning what a person typed into a goal, or a clear reason it cannot be one.

The pipeline judges goals (`pipeline.goal_problem`, one sentence per problem); the bot
only adds its usage hint, which names the slash command, for an empty goal."""

from __future__ import annotations

import re

from bot.render.notes import USAGE_HINT
from pipeline import PipelineConfig, tidy_goal
from pipeline import goal_problem as pipeline_goal_problem

_LEADING_MENTIONS = re.compile(r"^(\s*<@[A-Z0-9]+(\|[^>]*)?>\s*)+")


def strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    """The mention's text without the bot's own `<@BOT>` (leading mentions, or the bot's)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return _LEADING_MENTIONS.sub("", text)


def clean_text(text: str) -> str:
    """What was typed, as the goal the pipeline will run (unsafe characters removed)."""
    return tidy_goal(text)


def goal_problem(goal: str, config: PipelineConfig, command: str) -> str | None:
    """Why `goal` cannot start a run (a sentence for the requester), or None."""
    if not tidy_goal(goal):
        return USAGE_HINT.format(command=command)
    return pipeline_goal_problem(goal, config)
