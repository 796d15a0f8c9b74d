"""One research request from Slack, from accepted to answered, as a tracked background run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.deps import Deps
from bot.progress import SlackProgress
from bot.runs import LiveRun
from bot.slack_io import channel_refusal
from bot.slack_text import escape, one_line
from pipeline import new_run_id, run_pipeline

logger = logging.getLogger(__name__)

# Tell the requester privately: the text, and a thread of the run that exists (Slack never shows
# an ephemeral aimed at a thread that does not), or None for the channel.
Notify = Callable[[str, str | None], Awaitable[None]]

USAGE_HINT = (
    "Tell me what to research, e.g. `{command} compare Postgres, MySQL and SQLite for a "
    "small SaaS`, or mention me with the goal."
)


@dataclass(frozen=True)
class ResearchRequest:
    """What a listener hands over after ack: who asked what, and where the run lives."""

    user: str
    channel: str
    goal: str
    thread_ts: str | None  # None: post a root message in the channel and use its thread
    context_before_ts: str | None = None  # read the thread's messages before this one
    notify: Notify | None = None  # tell the requester privately (e.g. nothing can be posted)
    thread_exists: bool = False  # `thread_ts` already has replies (the mention was one of them)


def format_context(messages: list[dict[str, Any]], before_ts: str, max_chars: int) -> str | None:
    """The thread's earlier messages as `<@user>: text` lines, newest kept within `max_chars`."""
    lines = []
    for message in messages:
        if str(message.get("ts", "")) >= before_ts:
            continue
        author = message.get("user") or message.get("bot_id") or "someone"
        text = " ".join(str(message.get("text", "")).split())
        if text:
            lines.append(f"<@{author}>: {text}")
    joined = "\n".join(lines)
    return joined[-max_chars:] if joined else None


async def _thread_context(deps: Deps, request: ResearchRequest, thread_ts: str) -> str | None:
    if request.context_before_ts is None or deps.settings.thread_context_messages == 0:
        return None
    try:
        messages = await deps.io.thread_messages(
            request.channel,
            thread_ts,
            before_ts=request.context_before_ts,
            limit=deps.settings.thread_context_messages,
        )
    except SlackApiError as exc:
        # Context is a bonus: without it the run still answers the goal itself.
        logger.warning("could not read thread context: %s", exc.response.get("error"))
        return None
    return format_context(messages, request.context_before_ts, deps.config.max_context_chars)


class _Requester:
    """Reaches the person who asked, privately, where they will see it."""

    def __init__(self, request: ResearchRequest) -> None:
        self._request = request
        # A thread an ephemeral can be shown in: the mention's own, or ours once we posted in it.
        self.thread_ts = request.thread_ts if request.thread_exists else None

    async def tell(self, text: str) -> None:
        if self._request.notify is None:
            logger.warning("could not reach the requester in %s", self._request.channel)
            return
        try:
            await self._request.notify(text, self.thread_ts)
        except Exception:
            logger.exception("could not notify the requester privately")


def launch(deps: Deps, request: ResearchRequest) -> str:
    """Start the run as a tracked task; returns its run id. Never blocks the ack."""
    run_id = new_run_id()
    run = LiveRun(run_id, request.user, request.channel, request.thread_ts or "")
    deps.runs.start(run, _execute(deps, request, run))
    return run_id


async def _execute(deps: Deps, request: ResearchRequest, run: LiveRun) -> None:
    requester = _Requester(request)
    try:
        await _research(deps, request, run, requester)
    except asyncio.CancelledError:
        # Cancelled (a restart, most often) before the pipeline could say so in the thread:
        # the request was accepted, so its requester must still hear how it ended.
        if not run.ended:
            note = run.cancel_note or ":black_square_for_stop: Cancelled."
            if run.thread_ts:
                with contextlib.suppress(SlackApiError):
                    await deps.io.post(
                        request.channel, blocks.notice_message(note), thread_ts=run.thread_ts
                    )
                    run.ended = True
            if not run.ended:
                goal = escape(one_line(request.goal, 200))
                await requester.tell(f"{note} (goal: {goal})")
        raise


async def _research(
    deps: Deps, request: ResearchRequest, run: LiveRun, requester: _Requester
) -> None:
    io = deps.io
    thread_ts = request.thread_ts
    if thread_ts is None:
        try:
            thread_ts = await io.post(
                request.channel, blocks.request_message(request.user, request.goal)
            )
        except SlackApiError as exc:
            await requester.tell(_post_failure(exc.response.get("error")))
            return
    run.thread_ts = thread_ts
    progress = SlackProgress(
        io,
        run_id=run.run_id,
        channel=request.channel,
        thread_ts=thread_ts,
        interval_s=deps.settings.update_interval_s,
        cancel_note=lambda: run.cancel_note,
        undeliverable=requester.tell,
        on_end=lambda: setattr(run, "ended", True),
    )
    run.view = progress.view
    try:
        await progress.open(request.goal)
    except SlackApiError as exc:
        await requester.tell(_post_failure(exc.response.get("error")))
        return
    requester.thread_ts = thread_ts  # the plan message is a reply: the thread exists now
    try:
        context = await _thread_context(deps, request, thread_ts)
        await run_pipeline(
            request.goal,
            llm=deps.llm,
            config=deps.config,
            sink=progress,
            context=context,
            run_id=run.run_id,
        )
    finally:
        await progress.close()


def _post_failure(error: object) -> str:
    refusal = channel_refusal(error)
    if refusal is not None:
        return f"I can't post there, so the run did not start. {refusal}"
    if error == "connection_error":
        return "I could not reach Slack, so the run did not start. Please try again."
    return "Slack would not accept my message, so the run did not start. Please try again."
