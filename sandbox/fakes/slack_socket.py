"""Slack's Socket Mode side, for the fake Slack: `apps.connections.open` for the app-level
token, and the WebSocket URL it hands out, on a server of its own.

As Slack does (docs.slack.dev/apis/events-api/using-socket-mode): each connection gets a
`hello`; Slack may later send `{"type": "disconnect", "reason": ...}` and close it:
`warning` (it closes in about 10 s), `refresh_requested` (reconnect now), or `link_disabled`
(Socket Mode was turned off for the app: every new connection is disconnected the same way).
Events go to the app as envelopes it must acknowledge by `envelope_id`.

    async with FakeSocketMode(fake_slack) as socket:
        ...  # SLACK_APP_TOKEN=socket.app_token
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

from sandbox.fakes.slack import FakeSlack

DisconnectReason = Literal["warning", "refresh_requested", "link_disabled", "too_many_websockets"]
DEBUG_INFO = {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060}


@dataclass
class Link:
    """One WebSocket connection of the app."""

    number: int
    socket: web.WebSocketResponse
    received: list[dict[str, Any]] = field(default_factory=list)  # the app's acks, in order
    disconnected: str = ""  # the reason sent, if Slack disconnected it


class FakeSocketMode:
    """The Socket Mode side of `slack`: install with `async with`, which also routes the
    fake's `apps.connections.open` here."""

    def __init__(
        self,
        slack: FakeSlack,
        *,
        app_token: str = "xapp-1-A0APP-1-fake",  # noqa: S107 - the fake's own token
        host: str = "127.0.0.1",
    ) -> None:
        self.slack = slack
        self.app_token = app_token
        self.app_token_refused = ""  # set by `revoke_app_token`
        # Socket Mode turned off for the app (`disable_link`): every connection is disconnected.
        self.link_disabled = False
        # Reasons to disconnect the next new connections with, one each, right after `hello`.
        self.disconnect_new: list[DisconnectReason] = []
        self.links: list[Link] = []  # every connection ever opened, oldest first
        self.urls_issued = 0
        self._host = host
        self._tickets = itertools.count(1)
        self._envelopes = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._url = ""
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, 0).start()
        self._url = f"ws://{self._host}:{self._runner.addresses[0][1]}/link/"
        self.slack.connections_open = self.connections_open
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.slack.connections_open = None
        for link in self.links:
            await link.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests do ----------------------------------------------------------------

    def revoke_app_token(self, error: str = "token_revoked") -> None:
        """From now on `apps.connections.open` refuses the app token with `error`."""
        self.app_token_refused = error

    async def disable_link(self) -> None:
        """Socket Mode turned off in the app's settings: every connection, open or new, is
        sent `disconnect` with reason `link_disabled` and closed."""
        self.link_disabled = True
        for link in self.open_links():
            await self.disconnect(link, "link_disabled")

    def open_links(self) -> list[Link]:
        """The connections still open."""
        return [link for link in self.links if not link.socket.closed]

    async def disconnect(self, link: Link, reason: DisconnectReason) -> None:
        """Send `disconnect` with `reason` on `link`, then close it (as Slack does)."""
        link.disconnected = reason
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        if not link.socket.closed:
            await link.socket.send_str(json.dumps(message))
            await link.socket.close()

    async def send_command(self, text: str, *, user: str = "U1", channel: str = "C1") -> str:
        """A `/research` slash command envelope on the newest open connection; its id."""
        envelope_id = f"env-{next(self._envelopes)}"
        payload = {
            "team_id": "T0TEAM",
            "channel_id": channel,
            "user_id": user,
            "command": "/research",
            "text": text,
            "response_url": self.slack.response_url,
            "trigger_id": f"trig.{envelope_id}",
            "api_app_id": "A0APP",
        }
        envelope = {
            "envelope_id": envelope_id,
            "type": "slash_commands",
            "payload": payload,
            "accepts_response_payload": True,
        }
        await self.open_links()[-1].socket.send_str(json.dumps(envelope))
        return envelope_id

    def acked(self, envelope_id: str) -> bool:
        """Whether the app acknowledged the envelope on some connection."""
        return any(
            m.get("envelope_id") == envelope_id for link in self.links for m in link.received
        )

    async def until(self, condition: Any, within: float = 10) -> None:
        """Wait until `condition()` holds; checked whenever a connection opens or closes."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(condition)

    # --- Slack's side -------------------------------------------------------------------

    def connections_open(self, token: str) -> dict[str, Any]:
        """`apps.connections.open`: a fresh WebSocket URL for the app token."""
        if token != self.app_token:
            # Slack refuses other token types so; the fake's bot token included.
            return {"ok": False, "error": "invalid_auth"}
        if self.app_token_refused:
            return {"ok": False, "error": self.app_token_refused}
        self.urls_issued += 1
        return {"ok": True, "url": f"{self._url}?ticket={next(self._tickets)}"}

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        link = Link(len(self.links) + 1, socket)
        self.links.append(link)
        await self._notify()
        hello = {
            "type": "hello",
            "num_connections": len(self.open_links()),
            "debug_info": DEBUG_INFO,
            "connection_info": {"app_id": "A0APP"},
        }
        await socket.send_str(json.dumps(hello))
        if self.link_disabled:
            await self.disconnect(link, "link_disabled")
        elif self.disconnect_new:
            await self.disconnect(link, self.disconnect_new.pop(0))
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                try:
                    link.received.append(json.loads(message.data))
                except ValueError:
                    link.received.append({"unreadable": message.data})
                await self._notify()
        await self._notify()
        return socket

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
