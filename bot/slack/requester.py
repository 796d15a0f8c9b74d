"""The one way to tell the person who asked for a run something privately."""

from __future__ import annotations

import logging
from collections.abc import Callable

import aiohttp
from slack_bolt.async_app import AsyncRespond

from bot.render.notes import Private
from bot.slack.io import SlackIO

logger = logging.getLogger(__name__)

# Slack: a command's response_url "can be used up to 5 times within 30 minutes"; later posts
# are refused (HTTP 404). A run can end long after that, so its news must not depend on it.
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60 - 60  # a minute's margin: Slack's clock started before ours


class Requester:
    """Reaches one person privately, where they will see it.

    A slash command's `respond` (its response_url) while Slack still takes it, else an
    ephemeral message: in the run's thread once that thread exists (Slack never shows an
    ephemeral aimed at a thread that does not), else in the channel. If even that fails,
    a reply naming the person in `reply_in`, so the person who acted still hears back."""

    def __init__(
        self,
        io: SlackIO,
        *,
        channel: str,
        user: str,
        thread_ts: str | None = None,
        reply_in: str | None = None,
        respond: AsyncRespond | None = None,
        clock: Callable[[], float],
    ) -> None:
        self._io = io
        self.channel, self.user = channel, user
        self.thread_ts = thread_ts  # a thread that exists, where private notes are shown
        self._reply_in = reply_in
        self._respond = respond
        self._clock = clock
        self._since = clock()
        self._uses = 0

    def thread_exists(self, thread_ts: str) -> None:
        """The run's thread exists now: private notes may go there."""
        self.thread_ts = thread_ts
        self._reply_in = self._reply_in or thread_ts

    async def tell(self, text: str | Private) -> None:
        """Tell the person `text`; never raises (a failure is logged). `Private` words are
        never posted in public (see `SlackIO.tell`)."""
        try:
            if await self._by_response_url(text.text if isinstance(text, Private) else text):
                return
            await self._io.tell(
                self.channel, self.user, text, self.thread_ts, reply_in=self._reply_in
            )
        except Exception:
            logger.exception("could not tell the requester privately")

    async def _by_response_url(self, text: str) -> bool:
        if self._respond is None or self._uses >= RESPONSE_URL_USES:
            return False
        if self._clock() - self._since >= RESPONSE_URL_TTL_S:
            return False
        self._uses += 1
        try:
            response = await self._respond(text=text, response_type="ephemeral")
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("response_url unreachable (%s): using an ephemeral", exc)
            return False
        if response.status_code == 200:
            return True
        # Bolt's respond does not raise on a refusal: it returns it.
        logger.warning("response_url refused (%s): using an ephemeral", response.status_code)
        return False
