"""Buttons on the plan message: Cancel, and a subtask's full output."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import blocks
from bot.deps import Deps

logger = logging.getLogger(__name__)


def _who_and_where(body: dict[str, Any]) -> tuple[str, str, str | None]:
    user = str((body.get("user") or {}).get("id", ""))
    channel = str((body.get("channel") or {}).get("id", ""))
    message = body.get("message") or {}
    thread = message.get("thread_ts") or message.get("ts")
    return user, channel, str(thread) if thread else None


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for the plan message's buttons."""

    @app.action(blocks.CANCEL_ACTION)
    async def cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user, channel, thread = _who_and_where(body)
        run = deps.runs.get(str(action.get("value", "")))
        if run is None or run.task is None or run.task.done():
            await deps.io.tell(channel, user, "That run has already ended.", thread)
            return
        if deps.settings.cancel_by == "requester" and user != run.requester:
            await deps.io.tell(
                channel, user, f"Only <@{run.requester}>, who asked, can cancel this run.", thread
            )
            return
        deps.runs.cancel(run.run_id, by=user)
        logger.info("run cancelled by %s [run_id=%s]", user, run.run_id)

    @app.action(re.compile(rf"^{blocks.OUTPUT_ACTION}:"))
    async def full_output(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user, channel, thread = _who_and_where(body)
        run_id, _, sub_id = str(action.get("value", "")).partition(":")
        run = deps.runs.get(run_id)
        sub = run.view.subtasks.get(sub_id) if run and run.view else None
        if run is None or sub is None or sub.state != "done":
            await deps.io.tell(
                channel, user, "That output is no longer available (the app restarted?).", thread
            )
            return
        if sub.id in run.outputs_posted:
            await deps.io.tell(channel, user, "That output is already in this thread.", thread)
            return
        run.outputs_posted.add(sub.id)
        for message in blocks.output_messages(sub.id, sub.role, sub.output):
            await deps.io.post(run.channel, message, thread_ts=run.thread_ts)
