"""What an interrupted attempt of a channel run left in its thread but could not record.

A post and its journal write are two steps: a process killed between them leaves a message
in Slack that the store does not know. A resumed run reads its thread once to find them, by
the block ids this app gives them, so that it neither posts its plan twice nor leaves a
half-written answer looking like the answer. Only a run that was not paused cleanly reads
(a clean pause records all it posted), and it reads in its own task, not at start-up."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.render.messages import WRITING_BLOCK_ID
from bot.render.plan import plan_block_id
from bot.slack.io import SlackIO

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Leftovers:
    """The run's plan message (None: none posted) and its half-written answer messages."""

    plan_ts: str | None
    cut_off: tuple[str, ...]


def _has_block(message: Mapping[str, Any], block_id: str) -> bool:
    return bool(message.get("bot_id")) and any(
        isinstance(block, Mapping) and block.get("block_id") == block_id
        for block in message.get("blocks") or []
    )


async def left_in_thread(
    io: SlackIO,
    channel: str,
    thread_ts: str,
    run_id: str,
    *,
    plan_ts: str | None,
    answer_ts: Sequence[str],
) -> Leftovers:
    """What the store recorded (`plan_ts`, `answer_ts`), and what the run's thread shows
    beyond it. Reading the thread is best effort: if Slack will not say, what was recorded."""
    try:
        messages = await io.thread_messages(channel, thread_ts, before_ts=None, limit=200)
    except SlackApiError as exc:
        logger.warning(
            "could not read the thread of an interrupted run: %s [run_id=%s]",
            exc.response.get("error"),
            run_id,
        )
        return Leftovers(plan_ts, tuple(answer_ts))
    plan_ts = plan_ts or next(
        (str(m["ts"]) for m in messages if _has_block(m, plan_block_id(run_id))), None
    )
    after = plan_ts or thread_ts
    found = [
        str(m["ts"])
        for m in messages
        if str(m.get("ts", "")) > after and _has_block(m, WRITING_BLOCK_ID)
    ]
    return Leftovers(plan_ts, tuple(dict.fromkeys([*answer_ts, *found])))
