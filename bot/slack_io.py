"""The Slack Web API calls the app makes, paced under Slack's rate limits."""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import SlackMessage, notice_message
from bot.pacing import Pacer

logger = logging.getLogger(__name__)


class SlackUnreachable(SlackApiError):
    """Slack could not be reached (after any retries): handled like an API error."""

    def __init__(self, method: str, cause: BaseException) -> None:
        # slack_sdk's constructor is untyped; it only stores the message and the response.
        super().__init__(  # type: ignore[no-untyped-call]
            f"{method}: {type(cause).__name__}", {"ok": False, "error": "connection_error"}
        )


@contextlib.asynccontextmanager
async def _reaching(method: str) -> AsyncIterator[None]:
    # Transport errors arrive raw from slack_sdk; callers handle one error type, not three.
    try:
        yield
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SlackUnreachable(method, exc) from exc


class SlackIO:
    """Posts, updates and reads messages; every call waits for its rate-limit slot first."""

    def __init__(self, client: AsyncWebClient, pacer: Pacer) -> None:
        self.client = client
        self._pacer = pacer

    async def post(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        """Post a message (in a thread when `thread_ts` is given); returns its ts."""
        await self._pacer.wait("chat.postMessage", channel)
        async with _reaching("chat.postMessage"):
            response = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks or None,
                unfurl_links=False,
                unfurl_media=False,
            )
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        """Replace a message's text and blocks."""
        await self._pacer.wait("chat.update", channel)
        async with _reaching("chat.update"):
            await self.client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks or None
            )

    async def ephemeral(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> None:
        """A message only `user` sees."""
        await self._pacer.wait("chat.postEphemeral", channel)
        async with _reaching("chat.postEphemeral"):
            await self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )

    async def tell(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        """Tell one person something: ephemeral, or a thread reply naming them if that fails.

        An ephemeral message can fail (the user left, Slack hiccups); the person who acted
        must still get an answer, so fall back to the thread when there is one."""
        try:
            await self.ephemeral(channel, user, text, thread_ts)
        except SlackApiError as exc:
            logger.warning("ephemeral message failed: %s", exc.response.get("error"))
            if thread_ts is None:
                return
            try:
                await self.post(channel, notice_message(f"<@{user}> {text}"), thread_ts)
            except SlackApiError as again:
                logger.warning("could not tell %s: %s", user, again.response.get("error"))

    async def thread_messages(
        self, channel: str, ts: str, *, before_ts: str, limit: int, max_pages: int = 10
    ) -> list[dict[str, Any]]:
        """The newest `limit` messages of a thread posted before `before_ts`.

        Slack pages replies oldest first, so a long thread is read to its end (bounded by
        `max_pages`) to find the newest ones."""
        kept: collections.deque[dict[str, Any]] = collections.deque(maxlen=limit)
        cursor: str | None = None
        for _ in range(max_pages):
            await self._pacer.wait("conversations.replies", channel)
            async with _reaching("conversations.replies"):
                response = await self.client.conversations_replies(
                    channel=channel,
                    ts=ts,
                    latest=before_ts,
                    inclusive=False,
                    limit=200,
                    cursor=cursor,
                )
            kept.extend(response.get("messages") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                break
        return list(kept)
