"""The Web API calls of Slack's agent surfaces: the native stream (chat.startStream /
appendStream / stopStream), the DM thread's status line, suggested prompts and title, and its
agent session, each paced under its rate limit like every other call (`bot.slack.io`)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from slack_sdk.errors import SlackApiError

from bot.slack.errors import NOT_AUTHORIZED, SESSIONS_UNAVAILABLE
from bot.slack.io import SlackIO, reaching
from bot.slack.pacing import Priority

logger = logging.getLogger(__name__)

Chunks = list[dict[str, Any]]
SessionStatus = Literal["processing", "active", "suspended", "closed"]
# Without an agent session (bot.slack.errors.SESSIONS_UNAVAILABLE) the run goes on without one.


class NativeIO:
    """Streams messages and sets a DM thread's state; every call but `session` raises
    `SlackApiError` (`SlackUnreachable` when Slack cannot be reached) when Slack refuses it."""

    def __init__(self, io: SlackIO, team_id: str) -> None:
        self._io = io
        self._team_id = team_id
        self._sessions_unavailable = False

    async def start(
        self, channel: str, thread_ts: str, recipient: str, chunks: Chunks, *, turn: str = ""
    ) -> str:
        """Start a streamed reply in `thread_ts`, in plan display mode; returns its ts.

        The recipient is required in channels ("only that person sees it stream") and
        harmless in a DM, so it is always sent."""
        await self._io.pacer.wait("chat.startStream", channel, priority=Priority.URGENT, turn=turn)
        await self._io.writable("chat.startStream")
        async with reaching("chat.startStream"):
            response = await self._io.client.chat_startStream(
                channel=channel,
                thread_ts=thread_ts,
                recipient_user_id=recipient,
                recipient_team_id=self._team_id or None,
                task_display_mode="plan",
                chunks=chunks,
            )
        return str(response["ts"])

    async def append(
        self, channel: str, ts: str, chunks: Chunks, *, priority: Priority = Priority.NORMAL
    ) -> None:
        """Add `chunks` (plan and task updates, markdown text) to a live stream."""
        await self._io.pacer.wait("chat.appendStream", channel, priority=priority)
        await self._io.writable("chat.appendStream")
        async with reaching("chat.appendStream"):
            await self._io.client.chat_appendStream(channel=channel, ts=ts, chunks=chunks)

    async def stop(
        self, channel: str, ts: str, chunks: Chunks, blocks: list[dict[str, Any]]
    ) -> None:
        """End a stream with its last `chunks` and, below them, `blocks`."""
        await self._io.pacer.wait("chat.stopStream", channel, priority=Priority.URGENT)
        await self._io.writable("chat.stopStream")
        async with reaching("chat.stopStream"):
            await self._io.client.chat_stopStream(
                channel=channel, ts=ts, chunks=chunks or None, blocks=blocks or None
            )

    async def set_status(self, channel: str, thread_ts: str, status: str) -> None:
        """The thread's status line under the app's name ("" clears it)."""
        await self._io.pacer.wait("assistant.threads.setStatus", channel, priority=Priority.URGENT)
        await self._io.writable("assistant.threads.setStatus")
        async with reaching("assistant.threads.setStatus"):
            await self._io.client.assistant_threads_setStatus(
                channel_id=channel, thread_ts=thread_ts, status=status
            )

    async def suggest(self, channel: str, title: str, prompts: list[dict[str, str]]) -> None:
        """Suggested prompts for the person's DM with the app. Never with a `thread_ts`: under
        agent view that call "will silently fail" (the method's page, read 2026-12-05)."""
        method = "assistant.threads.setSuggestedPrompts"
        await self._io.pacer.wait(method, channel, priority=Priority.URGENT)
        await self._io.writable(method)
        async with reaching(method):
            await self._io.client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, title=title, prompts=prompts
            )

    async def title(self, channel: str, thread_ts: str, title: str) -> None:
        """The thread's title in the agent's History (else Slack shows "Chats from <date>")."""
        await self._io.pacer.wait("assistant.threads.setTitle", channel)
        await self._io.writable("assistant.threads.setTitle")
        async with reaching("assistant.threads.setTitle"):
            await self._io.client.assistant_threads_setTitle(
                channel_id=channel, thread_ts=thread_ts, title=title
            )

    async def session(
        self, channel: str, thread_ts: str, status: SessionStatus, *, title: str | None = None
    ) -> bool:
        """Move the thread's agent session to `status` (created, titled `title`, if need be);
        whether it moved. Slack never moves a session off "processing" by itself (only a
        successful chat.stopStream or this call does), so every end of a turn calls it unless
        its stream stopped; a refusal is logged, never raised: the run goes on without."""
        if self._sessions_unavailable:
            return False
        method = "agents.sessions.setStatus"
        try:
            await self._io.pacer.wait(method, channel, priority=Priority.URGENT)
            await self._io.writable(method)
            async with reaching(method):
                await self._io.client.agents_sessions_setStatus(
                    channel_id=channel, thread_ts=thread_ts, status=status, title=title
                )
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error in SESSIONS_UNAVAILABLE:
                logger.info("no agent session here (%s) [%s/%s]", error, channel, thread_ts)
                self._sessions_unavailable = error != NOT_AUTHORIZED
            else:
                logger.warning("could not set the agent session %s: %s", status, error)
            return False
        return True
