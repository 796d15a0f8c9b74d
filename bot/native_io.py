"""The Web API calls of Slack's agent surfaces: the native stream (chat.startStream /
appendStream / stopStream) and assistant threads (status, suggested prompts), each paced
under its rate limit like every other call (`bot.slack_io`)."""

from __future__ import annotations

from typing import Any

from bot.pacing import Priority
from bot.slack_io import SlackIO, reaching

Chunks = list[dict[str, Any]]


class NativeIO:
    """Streams messages and sets assistant-thread state; every call raises `SlackApiError`
    (`SlackUnreachable` when Slack cannot be reached) when Slack refuses it."""

    def __init__(self, io: SlackIO, team_id: str) -> None:
        self._io = io
        self._team_id = team_id

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

    async def suggest(
        self, channel: str, thread_ts: str, title: str, prompts: list[dict[str, str]]
    ) -> None:
        """Suggested prompts for a new assistant thread."""
        await self._io.pacer.wait("assistant.threads.setSuggestedPrompts", channel)
        await self._io.writable("assistant.threads.setSuggestedPrompts")
        async with reaching("assistant.threads.setSuggestedPrompts"):
            await self._io.client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, thread_ts=thread_ts, title=title, prompts=prompts
            )
