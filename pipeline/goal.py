"""What a person typed, made into a goal, or a sentence saying why it cannot be one."""

from __future__ import annotations

import re

from pipeline.config import PipelineConfig
from pipeline.errors import InvalidGoal

# What a goal may not carry: control characters (terminal escapes, NUL; newline and tab are
# kept), bidi embeddings, overrides and isolates (they reorder what a reader sees: "Trojan
# Source"), the BOM, and lone surrogates (not text at all). Everything else stays, notably the
# zero-width joiner and variation selectors that emoji such as 👨‍👩‍👧 are built from.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# Unicode tag characters spell invisible text a model still reads ("ASCII smuggling"); their
# only honest use is a subdivision flag (🏴 + tags + cancel tag), which is kept whole.
_TAGS = re.compile("(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|[\U000e0000-\U000e007f]")

EMPTY_GOAL = "The goal is empty: say what you want researched."


def tidy_goal(text: str) -> str:
    """`text` without unsafe characters (see `_UNSAFE`, `_TAGS`) or surrounding space."""
    text = _TAGS.sub(lambda m: m.group(1) or "", _UNSAFE.sub("", text))
    return text.strip()


def goal_problem(goal: str, config: PipelineConfig) -> str | None:
    """Why `goal` cannot start a run, as a sentence for the person who asked; None if it can.

    The one place a goal is judged: the CLI, the Slack app and `run_pipeline` all use it."""
    goal = tidy_goal(goal)
    if not goal:
        return EMPTY_GOAL
    if len(goal) > config.max_goal_chars:
        return (
            f"That goal is {len(goal):,} characters long; the limit is "
            f"{config.max_goal_chars:,}. Please shorten it and ask again."
        )
    return None


def clean_goal(goal: str, config: PipelineConfig) -> str:
    """The goal tidied (`tidy_goal`); InvalidGoal with `goal_problem`'s sentence if unusable."""
    problem = goal_problem(goal, config)
    if problem is not None:
        raise InvalidGoal(problem)
    return tidy_goal(goal)
