"""Posting a run's messages in its thread so that they land, or the requester hears why not."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.render import messages as blocks
from bot.slack.errors import CONNECTION_ERROR, CONTENT_REFUSED
from bot.slack.io import SlackIO, channel_refusal
from bot.slack.pacing import Priority
from bot.slack.requester import Requester

logger = logging.getLogger(__name__)


class ThreadPoster:
    """Posts in one thread: as plain text if Slack refuses the blocks; reports what is lost.

    What it posts (answers, end notes) is what people wait for: each post goes ahead of the
    channel's other waiting posts (root and plan messages of new runs), in turns between
    requesters. Posts a click asks for (a full output) pass `priority=Priority.NORMAL`: they
    take turns with other people's new runs instead of going ahead of them, so nobody's
    clicks can hold another person's run back for long."""

    def __init__(
        self,
        io: SlackIO,
        requester: Requester,
        *,
        run_id: str,
        channel: str,
        thread_ts: str,
        priority: Priority = Priority.URGENT,
    ) -> None:
        self._io = io
        self._requester = requester
        self._priority = priority
        self._run_id = run_id
        self.channel = channel
        self.thread_ts = thread_ts
        # Whether the last post went as plain text because Slack refused its blocks.
        self.went_plain = False
        self.posted: list[str] = []  # the ts of every message it posted

    async def _post(self, message: blocks.SlackMessage) -> str:
        ts = await self._send(message)
        self.posted.append(ts)
        return ts

    async def _send(self, message: blocks.SlackMessage) -> str:
        return await self._io.post(
            self.channel,
            message,
            thread_ts=self.thread_ts,
            priority=self._priority,
            turn=self._requester.user,
        )

    async def post(self, message: blocks.SlackMessage) -> tuple[list[str], str | None]:
        """Post `message`; the ts of what landed, and Slack's error if it could not land."""
        self.went_plain = False
        try:
            return [await self._post(message)], None
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            logger.warning("post failed: %s [run_id=%s]", error, self._run_id)
            if error not in CONTENT_REFUSED:
                return [], error
        posted: list[str] = []
        self.went_plain = True
        try:
            for part in blocks.plain_messages(message):
                posted.append(await self._post(part))
            return posted, None
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            logger.warning("plain-text post failed: %s [run_id=%s]", error, self._run_id)
            return posted, error

    async def post_or_report(self, message: blocks.SlackMessage, what: str) -> list[str] | None:
        """Post `message`; if it cannot land, tell the requester privately and return None."""
        posted, error = await self.post(message)
        if error is None:
            return posted
        # The thread is unreachable (bot removed, channel archived, Slack down past retries):
        # the requester must still learn how the run ended.
        if error == CONNECTION_ERROR:
            # The post may have landed before the connection dropped; it is not repeated.
            why = "Slack stopped answering, so it may be missing or incomplete. Ask again if so."
        else:
            why = channel_refusal(error) or f"Slack said `{error}`. Please ask again."
        await self._requester.tell(
            f"Your Orchestra run `{self._run_id}` ended, but I could not post {what} "
            f"in its thread: {why}"
        )
        return None
