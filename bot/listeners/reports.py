"""The buttons under an answer: **Download (.md)** uploads the run's report, with its sources,
to the thread (files.getUploadURLExternal, the bytes, files.completeUploadExternal)."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.render import notes
from bot.render.answer_actions import FOLLOW_UP_ACTION, parse_follow_up
from bot.render.report import DOWNLOAD_ACTION, report_file, report_filename
from bot.runs.follow_up import follow_up
from bot.runs.resume import Press
from bot.slack.canvases import CanvasIO
from bot.store import StoredRun, StoreError
from pipeline import Source

logger = logging.getLogger(__name__)


def stored_sources(run: StoredRun) -> list[Source]:
    """The run's sources as its answer numbered them: by subtask in plan order, each URL once."""
    seen: dict[str, Source] = {}
    for subtask in sorted(run.subtasks, key=lambda s: s.position):
        for source in subtask.sources:
            url = str(source.get("url") or "")
            if url and url not in seen:
                seen[url] = Source(url=url, title=str(source.get("title") or ""))
    return list(seen.values())


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for Download (.md) and the suggested follow-ups."""

    @app.action(re.compile(rf"^{FOLLOW_UP_ACTION}:"))
    async def follow_up_clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        message = body.get("message") or {}
        thread = str(message.get("thread_ts") or message.get("ts") or "")
        parsed = parse_follow_up(str(action.get("value", "")))
        run = await _stored(deps, parsed[0]) if parsed else None
        # The run must be this thread's: a button copied elsewhere asks about nothing here.
        if parsed is None or run is None or run.channel != channel or run.thread_ts != thread:
            await deps.io.tell(channel, user, notes.UNKNOWN_RUN, thread or None)
            return
        press = Press(user, channel, str(message.get("ts") or ""))
        await follow_up(deps, run, parsed[1], stored_sources(run), press)

    @app.action(DOWNLOAD_ACTION)
    async def download(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        message = body.get("message") or {}
        thread = str(message.get("thread_ts") or message.get("ts") or "")
        run = await _stored(deps, str(action.get("value", "")))
        if run is None or run.channel != channel or not run.thread_ts:
            await deps.io.tell(channel, user, notes.UNKNOWN_RUN, thread or None)
            return
        if not run.answer:
            await deps.io.tell(channel, user, notes.DOWNLOAD_GONE, run.thread_ts)
            return
        cost = f"≈ ${run.cost_usd:.4f}" if run.cost_usd is not None else ""
        body_text = report_file(run.goal, run.answer, stored_sources(run), cost)
        try:
            await CanvasIO(deps.io).upload(
                run.channel,
                run.thread_ts,
                report_filename(run.goal),
                run.goal[:200] or "Report",
                body_text,
                notes.DOWNLOAD_COMMENT,
            )
        except SlackApiError as exc:
            logger.warning("report upload refused: %s", exc.response.get("error"))
            await deps.io.tell(channel, user, notes.DOWNLOAD_FAILED, run.thread_ts)


async def _stored(deps: Deps, run_id: str) -> StoredRun | None:
    """The run as stored (None: no such run, or the store could not say)."""
    try:
        return await deps.store.get_run(run_id) if run_id else None
    except StoreError:
        logger.exception("run store: could not read run %s", run_id)
        return None
