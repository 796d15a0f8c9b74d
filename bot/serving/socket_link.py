"""The Socket Mode connection: slack_sdk's aiohttp client, reconnecting with backoff and
giving up, with one sentence, on a disconnect that cannot heal.

slack_sdk (3.x, `socket_mode/aiohttp`) reconnects at once, every time: on Slack's
`disconnect` message, on the WebSocket's close, and from its session monitor, with no wait
and no log above INFO. When Slack disconnects every new connection at once (Socket Mode
turned off for the app: `link_disabled`), that is thousands of `apps.connections.open` calls
a second, silently. Here every reconnect goes through one `connect_to_new_endpoint`:
- one at a time, and only while the current connection is closed or doomed (Slack said it
  will close it), so the several triggers of one disconnect reconnect once;
- after a wait that doubles with each reconnect in a row (`Backoff`, with jitter so that
  replicas disconnected together do not come back together), reset once a connection
  stayed up `STABLE_S`;
- with one log line per disconnect, naming Slack's reason;
- `link_disabled`, or Slack refusing the app token on `apps.connections.open`
  (`invalid_auth`, `token_revoked`, …), end it: `gave_up` is set and `fatal` says why, for
  `python -m bot` to stop with that sentence (docs.slack.dev/apis/events-api/using-socket-mode).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from logging import Logger

from aiohttp import WSMessage, WSMsgType
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.serving.startup import EXIT_CONFIG, StartupError, socket_mode_url

logger = logging.getLogger(__name__)

# The first reconnect waits 0.25-0.5 s (Slack's `warning` gives about 10 s before it closes
# the connection); each one in a row doubles that, up to 15-30 s. One that stayed up a
# minute was fine: the next disconnect starts again from the first wait.
BASE_S = 0.5
CAP_S = 30.0
STABLE_S = 60.0
# Slack's routine reasons to reconnect (it rotates connections every few hours).
ROUTINE = frozenset({"warning", "refresh_requested"})

LINK_DISABLED = (
    "Slack closed the Socket Mode connection for good (link_disabled): Socket Mode is turned "
    "off in the app's settings. Turn it on (the app's Socket Mode page), or run in HTTP mode "
    "without SLACK_APP_TOKEN, then start again."
)


class Backoff:
    """How long to wait before each reconnect: "equal jitter" exponential backoff, so each
    wait lies in [cap/2, cap] for a cap that doubles per reconnect in a row up to `cap_s`
    (until then never shorter than the wait before it, and spread over half its range)."""

    def __init__(
        self,
        *,
        base_s: float = BASE_S,
        cap_s: float = CAP_S,
        stable_s: float = STABLE_S,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base_s, self.cap_s, self.stable_s = base_s, cap_s, stable_s
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.in_a_row = 0
        self._up_since: float | None = None

    def connected(self) -> None:
        """A connection is open from now."""
        self._up_since = self._clock()

    def next_wait(self) -> float:
        """The wait before the next reconnect (counting it)."""
        if self._up_since is not None and self._clock() - self._up_since >= self.stable_s:
            self.in_a_row = 0
        self._up_since = None
        cap = min(self.cap_s, self.base_s * 2.0**self.in_a_row)
        self.in_a_row += 1
        return cap / 2 + self._rng.uniform(0, cap / 2)


class SocketLink(SocketModeClient):
    """slack_sdk's aiohttp Socket Mode client with backoff, one log line per disconnect and
    a clear end (see the module docstring)."""

    def __init__(
        self,
        app_token: str,
        api_url: str,
        *,
        web_client: AsyncWebClient,
        sdk_logger: Logger,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            app_token=app_token,
            logger=sdk_logger,
            web_client=web_client,
            on_message_listeners=[self._note],
        )
        self.api_url = api_url
        self.backoff = backoff or Backoff()
        self.gave_up = asyncio.Event()
        self.fatal: StartupError | None = None
        self._sleep = sleep
        self._reconnecting = asyncio.Lock()
        self._doomed: object = None  # the session Slack said it will close
        self._reason = ""  # Slack's reason for the latest disconnect, until reconnected

    async def _note(self, message: WSMessage) -> None:
        """Each text frame, as it arrives (slack_sdk calls this before reading the next
        frame, so a `disconnect` is known before the close that follows it)."""
        if message.type != WSMsgType.TEXT or '"disconnect"' not in message.data:
            return
        try:
            body = json.loads(message.data)
        except ValueError:
            return
        if not isinstance(body, dict) or body.get("type") != "disconnect":
            return
        self._doomed = self.current_session
        self._reason = "".join(c for c in str(body.get("reason"))[:40] if c.isalnum() or c in "_-")
        if self._reason == "link_disabled":
            self._give_up(StartupError(LINK_DISABLED, EXIT_CONFIG))

    def _give_up(self, why: StartupError) -> None:
        if self.fatal is None:
            self.fatal = why  # `python -m bot` prints its sentence as it exits
            logger.warning("Socket Mode: cannot reconnect; stopping")
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled = False
        self.gave_up.set()

    async def connect(self) -> None:
        """Open a connection to `wss_uri` (slack_sdk's), then count it as up."""
        await super().connect()  # type: ignore[no-untyped-call]  # slack_sdk leaves it untyped
        self.backoff.connected()

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """Replace a closed or doomed connection, after the backoff's wait. Every trigger
        (Slack's `disconnect`, the close, the session monitor) comes here; `force` is not
        needed: whether the current connection is doomed says it."""
        async with self._reconnecting:
            if self.closed or self.fatal is not None:
                return
            doomed = self.current_session is not None and self.current_session is self._doomed
            if not doomed and await self.is_connected():
                return  # another trigger of this disconnect has reconnected already
            reason = self._reason or "connection lost"
            wait = self.backoff.next_wait()
            routine = reason in ROUTINE and self.backoff.in_a_row == 1
            logger.log(
                logging.INFO if routine else logging.WARNING,
                "Socket Mode: Slack closed the connection (%s); reconnecting in %.1f s",
                reason,
                wait,
            )
            await self._sleep(wait)
            if self.closed:
                return
            try:
                self.wss_uri = await socket_mode_url(self.app_token, self.api_url, waits=())
            except StartupError as exc:
                if exc.exit_code == EXIT_CONFIG:  # Slack refused the app token: for good
                    self._give_up(exc)
                    return
                # Slack unreachable: the session monitor calls again (every ping interval).
                self._reason = "Slack unreachable"
                logger.warning("Socket Mode: could not get a new connection URL; trying again")
                return
            self._reason = ""
            await self.connect()


class SocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, over a `SocketLink`."""

    def __init__(self, app: AsyncApp, link: SocketLink) -> None:
        # Not super().__init__: it would build (and leak) a plain client of its own.
        self.app = app
        self.app_token = link.app_token
        self.client = link
        link.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]  # Bolt's own line
