"""Whether Slack still accepts the bot token, learned from every Web API answer.

A token checked at start (`bot.serving.startup`) can be revoked later: the app uninstalled, the
token rotated out, the workspace deactivated. Slack then answers every call with one of
`TOKEN_REFUSED`, and nothing the app does can heal that: a person must install the app
again or set a new SLACK_BOT_TOKEN, and the process must start again. So the first such
answer is logged once, `/healthz` names Slack from then on (an orchestrator restarts the
process; the start-up check then says what to fix), and people who asked are told why."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.slack.errors import TOKEN_REFUSED

logger = logging.getLogger(__name__)


# For the person who asked: the token is the app's, so only an admin can fix it.
REFUSED_WORDS = (
    "Slack no longer accepts this app's access to the workspace (it was revoked or the "
    "app was uninstalled), so I cannot post anything. Ask a workspace admin to reinstall "
    "the app."
)


class SlackAuth:
    """The bot token's standing with Slack (one workspace): fine until Slack refuses it."""

    def __init__(self) -> None:
        self.refused: str | None = None  # Slack's error code, once it refused the token

    def saw(self, error: object) -> None:
        """Note one Web API error; the first that refuses the token is logged."""
        if self.refused is not None or error not in TOKEN_REFUSED:
            return
        self.refused = str(error)
        logger.error(
            "Slack refused the bot token (%s): the app was uninstalled or its token revoked. "
            "Every Slack call fails until SLACK_BOT_TOKEN is replaced (reinstall the app) "
            "and the app started again; /healthz says so meanwhile",
            self.refused,
        )


class TokenWatch(AsyncRetryHandler):
    """A retry handler that never retries: it shows `auth` every answer the client gets.

    A retry handler is the one hook slack_sdk gives into every call's answer, and Bolt
    copies a client's handlers into the client it makes for each request, so the calls of
    listeners (`say`, `client`) are watched as well as the app's own."""

    def __init__(self, auth: SlackAuth) -> None:
        super().__init__(max_retry_count=0)
        self.auth = auth

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Note the answer's error, if any; never a retry."""
        body: Any = response.body if response is not None else None
        if isinstance(body, dict) and body.get("ok") is False:
            self.auth.saw(body.get("error"))
        return False
