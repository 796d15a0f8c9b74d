"""A whole local world: fake Slack, Claude (fake or real), the real app over HTTP, and a
way to send it signed requests as Slack would. Shared by e2e tests, the sandbox and bench."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.__main__ import build_deps
from bot.config import Settings
from bot.deps import Deps, Workspace
from bot.runs.lifecycle import keeping_runs
from bot.serving.app import create_app
from bot.serving.server import http_server
from bot.serving.startup import open_store
from bot.slack.pacing import Pacer
from bot.store import RunStore
from bot.thread.native_stream import KEEPALIVE_S, STATUS_REFRESH_S
from pipeline import LLM, PipelineConfig
from sandbox.fakes import signing
from sandbox.fakes.slack import TEAM, WORKSPACE_URL, FakeSlack
from sandbox.fakes.slack_views import submit_view

SIGNING_SECRET = "sandbox-signing-secret"  # noqa: S105 - the local world's own secret


@dataclass
class World:
    """A running app and the fakes around it."""

    slack: FakeSlack
    deps: Deps
    app_url: str
    http: aiohttp.ClientSession
    secret: str = SIGNING_SECRET

    async def post_signed(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        secret: str | None = None,
    ) -> aiohttp.ClientResponse:
        """POST a body to /slack/events, signed as Slack signs it."""
        signed = signing.sign(secret or self.secret, body, timestamp)
        all_headers = {"Content-Type": content_type, **signed, **(headers or {})}
        async with self.http.post(
            f"{self.app_url}/slack/events", data=body, headers=all_headers
        ) as response:
            await response.read()
            return response

    async def command(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        command: str = "/research",
        reply_to: str = "",
    ) -> aiohttp.ClientResponse:
        """Type a slash command (`reply_to` tags its response_url, see FakeSlack)."""
        url = self.slack.response_url + (f"?to={reply_to}" if reply_to else "")
        body, kind = signing.slash_command(
            command=command,
            text=text,
            user=user,
            channel=channel,
            response_url=url,
            trigger_id=self.slack.issue_trigger(user),  # Slack sends one with every command
        )
        return await self.post_signed(body, kind)

    async def command_ack(self, text: str, *, user: str = "U1", channel: str = "C1") -> str:
        """Type a slash command; the text of its ack (what Slack shows the sender privately)."""
        body, kind = signing.slash_command(
            command="/research",
            text=text,
            user=user,
            channel=channel,
            response_url=self.slack.response_url,
        )
        headers = {"Content-Type": kind, **signing.sign(self.secret, body)}
        async with self.http.post(
            f"{self.app_url}/slack/events", data=body, headers=headers
        ) as response:
            raw = await response.text()
            is_json = response.content_type == "application/json"
        # Bolt answers a text-only ack as text/plain, a richer one as JSON.
        return str(json.loads(raw).get("text", "")) if is_json and raw else raw

    async def mention(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        thread_ts: str | None = None,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
        ts: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[aiohttp.ClientResponse, str]:
        """A person posts a message mentioning the bot (stored in the fake, then delivered)."""
        ts = ts or self.slack.add_user_message(channel, user, text, thread_ts)
        body, kind = signing.mention_event(
            text=text, user=user, channel=channel, ts=ts, thread_ts=thread_ts, event_id=event_id
        )
        response = await self.post_signed(body, kind, headers=headers, timestamp=timestamp)
        return response, ts

    async def dm(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "D1",
        thread_ts: str | None = None,
        event_id: str | None = None,
    ) -> tuple[aiohttp.ClientResponse, str]:
        """A person writes to the app in its messages tab (stored in the fake, then
        delivered as `message.im`): a top-level message starts a thread of its own (agent
        view); `thread_ts`: a follow-up in that thread."""
        ts = self.slack.add_user_message(channel, user, text, thread_ts)
        body, kind = signing.dm_message(
            text=text, user=user, channel=channel, ts=ts, thread_ts=thread_ts, event_id=event_id
        )
        return await self.post_signed(body, kind), ts

    async def open_dm(self, *, user: str = "U1", channel: str = "D1") -> aiohttp.ClientResponse:
        """A person opens their DM with the app (agent view: `app_home_opened`, tab
        "messages"; Slack posts nothing, and the person's first message starts a thread)."""
        body, kind = signing.home_opened(user=user, tab="messages", channel=channel)
        return await self.post_signed(body, kind)

    async def open_home(self, *, user: str = "U1", channel: str = "D1") -> aiohttp.ClientResponse:
        """A person opens the app's Home tab (`app_home_opened`, tab "home"); the app answers
        with `views.publish`, which the fake keeps in `home_views` and announces."""
        body, kind = signing.home_opened(user=user, tab="home", channel=channel)
        return await self.post_signed(body, kind)

    async def stop_button(
        self, *, thread_ts: str, user: str = "U1", channel: str = "D1"
    ) -> aiohttp.ClientResponse:
        """A person presses Slack's native stop button on the app's work in a thread."""
        stopped = self.slack.user_stops(channel, thread_ts, user)
        body, kind = signing.agent_session_stopped(
            user=user, channel=channel, thread_ts=thread_ts, streaming_message_ts=stopped
        )
        return await self.post_signed(body, kind)

    async def click(
        self,
        action_id: str,
        value: str,
        *,
        message_ts: str,
        thread_ts: str | None,
        user: str = "U1",
        channel: str = "C1",
    ) -> aiohttp.ClientResponse:
        """Click a button on a message (with a trigger id the fake Slack issued, as Slack
        sends with every click: a click may open a modal)."""
        body, kind = signing.block_action(
            action_id=action_id,
            value=value,
            user=user,
            channel=channel,
            message_ts=message_ts,
            thread_ts=thread_ts,
            response_url=self.slack.response_url,
            trigger_id=self.slack.issue_trigger(user),
        )
        return await self.post_signed(body, kind)

    async def submit_view(self, view_id: str, values: dict[str, str]) -> dict[str, Any]:
        """A person submits an open modal (`sandbox.fakes.slack_views.submit_view`): block id
        -> text, the rest as pre-filled; the app's answer ({} when the modal closed)."""
        return await submit_view(
            self.slack, f"{self.app_url}/slack/events", self.secret, view_id, values
        )


def world_settings(slack: FakeSlack, **changes: Any) -> Settings:
    """Settings pointing the app at the fake Slack (never read from the environment)."""
    values: dict[str, Any] = {
        "slack_bot_token": slack.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "anthropic_api_key": "unused",
        "port": 0,
        "update_interval_s": 0.2,
        **changes,
    }
    return Settings(_env_file=None, **values)


@contextlib.asynccontextmanager
async def running_world(
    slack: FakeSlack,
    llm: LLM,
    config: PipelineConfig,
    settings: Settings | None = None,
    *,
    port: int = 0,
    pacer: Pacer | None = None,
    store: RunStore | None = None,
    stream_keepalive_s: float = KEEPALIVE_S,
    status_refresh_s: float = STATUS_REFRESH_S,
) -> AsyncIterator[World]:
    """Start the real app in HTTP mode against `slack` and `llm`.

    The run store is `store`, else a fresh one in a temporary folder (a local world starts
    with no history; `settings.database_url` is not used); unfinished runs in it are
    resumed, as at a start. `stream_keepalive_s`: how often an idle native stream (a DM run)
    is written to; `status_refresh_s`: how often its status line is re-sent while it shows.
    The pipeline's knobs are `config`'s (they override the same fields of `settings`, so the
    app has one source of them: `deps.config` comes from it)."""
    settings = (settings or world_settings(slack)).model_copy(
        update={name: getattr(config, name) for name in PipelineConfig.model_fields}
    )
    async with contextlib.AsyncExitStack() as stack:
        if store is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="orchestra-"))
            store = await open_store(f"sqlite:///{folder}/orchestra.db")
            stack.push_async_callback(store.close)
        # Composed as `python -m bot` composes it, with the sandbox's parts as overrides.
        deps = build_deps(
            settings,
            store,
            Workspace(TEAM, WORKSPACE_URL),
            llm=llm,
            pacer=pacer,
            stream_keepalive_s=stream_keepalive_s,
            status_refresh_s=status_refresh_s,
        )
        secret = settings.slack_signing_secret
        signing_secret = secret.get_secret_value() if secret else SIGNING_SECRET
        app = create_app(deps)
        server = http_server(app, deps, "127.0.0.1", port)
        url = await stack.enter_async_context(server)
        await stack.enter_async_context(keeping_runs(deps))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        yield World(slack, deps, url, http, signing_secret)
