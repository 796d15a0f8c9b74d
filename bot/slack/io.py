"""The Slack Web API calls the app makes, paced under Slack's rate limits."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.messages import SlackMessage, notice_message
from bot.render.notes import Private
from bot.slack.auth import REFUSED_WORDS
from bot.slack.errors import (
    ARCHIVED,
    CONNECTION_ERROR,
    NOT_A_MEMBER,
    NOT_OWNER,
    RESTRICTED,
    TOKEN_REFUSED,
)
from bot.slack.pacing import Pacer, Priority
from bot.slack.thread_window import NewestMessages

logger = logging.getLogger(__name__)


def channel_refusal(error: object) -> str | None:
    """What a refusal to post in the channel means for the person, or None if it is not one."""
    if error in TOKEN_REFUSED:  # not this channel: every channel (bot.slack.auth)
        return REFUSED_WORDS
    if error in NOT_A_MEMBER:
        return (
            "I'm not in that channel (or was removed from it). Invite me with "
            "`/invite @Orchestra`, or use me in a channel I'm in, then ask again."
        )
    if error in ARCHIVED:
        return "That channel is archived, so nobody can post there. Ask me in another channel."
    if error in RESTRICTED:
        return (
            "A workspace or channel setting doesn't let me post there (read-only or "
            "thread-only, for example). Ask me in another channel."
        )
    return None


class SlackUnreachable(SlackApiError):
    """Slack could not be reached (after any retries): handled like an API error."""

    def __init__(self, method: str, cause: BaseException) -> None:
        # slack_sdk's constructor is untyped; it only stores the message and the response.
        super().__init__(  # type: ignore[no-untyped-call]
            f"{method}: {type(cause).__name__}", {"ok": False, "error": CONNECTION_ERROR}
        )


class NotOwner(SlackApiError):
    """This replica no longer owns the run (another may have taken it over): the call was
    not made. Handled like any refusal by Slack; a run that knows it moved says nothing."""

    def __init__(self, method: str) -> None:
        # slack_sdk's constructor is untyped; it only stores the message and the response.
        super().__init__(  # type: ignore[no-untyped-call]
            f"{method}: this replica no longer owns the run", {"ok": False, "error": NOT_OWNER}
        )


@contextlib.asynccontextmanager
async def reaching(method: str) -> AsyncIterator[None]:
    """Around a Web API call: transport errors arrive raw from slack_sdk; callers handle one
    error type (`SlackApiError`, as `SlackUnreachable`), not three."""
    try:
        yield
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SlackUnreachable(method, exc) from exc


class SlackIO:
    """Posts, updates and reads messages; every call waits for its rate-limit slot first.

    A run's own SlackIO (`for_run`) also asks, right before each write, whether this replica
    still owns the run: a run whose lease ran out must not write to a thread that another
    replica may be writing to by then."""

    def __init__(
        self,
        client: AsyncWebClient,
        pacer: Pacer,
        *,
        may_write: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.client = client
        self.pacer = pacer
        self._may_write = may_write

    def for_run(self, may_write: Callable[[], Awaitable[bool]]) -> SlackIO:
        """The same client and pacer, writing only when `await may_write()` says so."""
        return SlackIO(self.client, self.pacer, may_write=may_write)

    async def writable(self, method: str) -> None:
        """Raise `NotOwner` instead of a write this replica may no longer make."""
        if self._may_write is not None and not await self._may_write():
            raise NotOwner(method)

    async def post(
        self,
        channel: str,
        message: SlackMessage,
        thread_ts: str | None = None,
        *,
        priority: Priority = Priority.NORMAL,
        turn: str = "",
    ) -> str:
        """Post a message (in a thread when `thread_ts` is given); returns its ts.

        Posts in a channel share one limit: `priority` says how soon this one should go
        (URGENT: a person waits for it), `turn` whose turn it takes (the person it is for:
        one person's many posts do not hold back another's)."""
        await self.pacer.wait("chat.postMessage", channel, priority=priority, turn=turn)
        await self.writable("chat.postMessage")
        async with reaching("chat.postMessage"):
            response = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks or None,
                unfurl_links=False,
                unfurl_media=False,
            )
        return str(response["ts"])

    async def update(
        self,
        channel: str,
        ts: str,
        message: SlackMessage | Callable[[], SlackMessage | None],
        *,
        priority: Priority = Priority.LOW,
    ) -> bool:
        """Replace a message's text and blocks (no blocks: the message becomes plain text).

        `message` may be a function, called once the rate limit lets the edit go: an edit
        that waited its turn then carries the latest state, not the one it was queued with
        (None from it: nothing to change, no call made). At most one edit of a message
        waits: a newer one takes its place in the queue and the older returns False without
        editing (the newer one shows the latest state)."""
        if not await self.pacer.wait(
            "chat.update", channel, priority=priority, coalesce=f"{channel}/{ts}"
        ):
            return False
        await self.writable("chat.update")
        latest = message() if callable(message) else message
        if latest is None:
            return False
        async with reaching("chat.update"):
            # `blocks` is always sent: Slack keeps the old blocks when an edit omits it, so a
            # plain-text edit must send [] to remove them (and any button on them).
            await self.client.chat_update(
                channel=channel, ts=ts, text=latest.text, blocks=latest.blocks
            )
        return True

    async def ephemeral(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> None:
        """A message only `user` sees, in the channel or in the thread `thread_ts`.

        Slack shows an ephemeral message in a thread only "if there is already an active
        thread", yet answers ok either way: pass `thread_ts` only for a thread that exists.
        A private reply is something a person waits for: it goes before other calls, in
        turns between the people it is for."""
        await self.pacer.wait("chat.postEphemeral", channel, priority=Priority.URGENT, turn=user)
        await self.writable("chat.postEphemeral")
        async with reaching("chat.postEphemeral"):
            await self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )

    async def tell(
        self,
        channel: str,
        user: str,
        text: str | Private,
        thread_ts: str | None = None,
        *,
        reply_in: str | None = None,
    ) -> None:
        """Tell one person something: ephemeral, or a thread reply naming them if that fails.

        `thread_ts` must be a thread that exists (see `ephemeral`); None means the channel.
        An ephemeral message can fail (the user left, Slack hiccups); the person who acted
        must still get an answer, so fall back to a reply in `reply_in` (a post may start a
        thread), else in `thread_ts`. That reply is public: `Private` words are replaced by
        their `instead`, and without a person to name nothing is posted."""
        words, public = (text.text, text.instead) if isinstance(text, Private) else (text, text)
        try:
            await self.ephemeral(channel, user, words, thread_ts)
        except SlackApiError as exc:
            logger.warning("ephemeral message failed: %s", exc.response.get("error"))
            thread = reply_in or thread_ts
            if thread is None or not user:
                return
            try:
                note = notice_message(f"<@{user}> {public}")
                await self.post(channel, note, thread, priority=Priority.URGENT, turn=user)
            except SlackApiError as again:
                logger.warning("could not tell %s: %s", user, again.response.get("error"))

    async def thread_messages(
        self, channel: str, ts: str, *, before_ts: str | None, limit: int, max_calls: int = 8
    ) -> list[dict[str, Any]]:
        """The newest `limit` messages of a thread posted before `before_ts` (None: all),
        oldest first, in as few `conversations.replies` calls as Slack allows: one for a
        thread that fits a page, else time windows from the end (`bot.slack.thread_window`)."""
        reading = NewestMessages(ts, before_ts, limit, max_calls)
        while (call := reading.next_call()) is not None:
            await self.pacer.wait("conversations.replies", channel)
            async with reaching("conversations.replies"):
                response = await self.client.conversations_replies(
                    channel=channel,
                    ts=ts,
                    oldest=call.oldest,
                    latest=call.latest,
                    inclusive=call.inclusive,
                    limit=call.limit,
                )
            reading.took(call, list(response.get("messages") or []), bool(response.get("has_more")))
        return reading.result()
