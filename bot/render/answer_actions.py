"""The buttons under a finished run's answer: **Download (.md)** and up to three suggested
follow-up questions (issue 23.2, 23.3), one actions block wherever the answer ends (its last
message in a channel, the stream's end in a DM, the message that links a canvas)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.render import notes
from bot.render.text import BUTTON_TEXT_LIMIT, BUTTON_VALUE_LIMIT, FOLLOW_UP_CHARS, one_line
from pipeline import RunResult

DOWNLOAD_ACTION = "download_md"
# One action id per button position: Slack refuses two buttons of one block with the same id.
FOLLOW_UP_ACTION = "orchestra_follow_up"
MAX_FOLLOW_UPS = 3
# The question travels whole in the button's value (a click needs no store read to know it),
# the label is its first line cut to fit (Block Kit's button sizes, bot.render.text).


def answered(result: RunResult) -> bool:
    """Whether the run finished with an answer (not failed, not cancelled): it offers the
    buttons."""
    return result.status in ("succeeded", "partial")


def follow_up_value(run_id: str, question: str) -> str:
    """A follow-up button's value: the run it follows and the question (JSON, within 2,000)."""
    value = json.dumps({"run": run_id, "q": question[:FOLLOW_UP_CHARS]}, ensure_ascii=False)
    return value[:BUTTON_VALUE_LIMIT]


def parse_follow_up(value: str) -> tuple[str, str] | None:
    """(run id, question) from a follow-up button's value; None when it is not one of ours."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    run_id, question = data.get("run"), data.get("q")
    if not isinstance(run_id, str) or not isinstance(question, str) or not question.strip():
        return None
    return run_id, question.strip()[:FOLLOW_UP_CHARS]


def answer_actions(run_id: str, follow_ups: Sequence[str] = ()) -> ActionsBlock:
    """Download (.md), then a button per suggested follow-up (at most three)."""
    buttons = [ButtonElement(text=notes.DOWNLOAD_LABEL, action_id=DOWNLOAD_ACTION, value=run_id)]
    for index, question in enumerate(list(follow_ups)[:MAX_FOLLOW_UPS]):
        label = one_line(question, BUTTON_TEXT_LIMIT)
        buttons.append(
            ButtonElement(
                text=label,
                action_id=f"{FOLLOW_UP_ACTION}:{index}",
                value=follow_up_value(run_id, question),
            )
        )
    return ActionsBlock(block_id=f"report:{run_id}", elements=buttons)
