"""Many workspaces (OAuth mode): the install and redirect routes through Bolt's OAuth flow,
each request authorized with its own workspace's token, requests from workspaces without an
installation dropped after the ack, and an uninstall forgetting the tokens at once.

Bolt switches to OAuth on its own when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are in the
environment, with stores that keep installations in plain-text files under $HOME: the
composition root takes those two variables out of the environment once the settings are
read, and builds the flow here with our stores (`bot.store.installations`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.authorization.authorize_result import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.slack import tenancy
from bot.store.installations import SealedInstallations, StoredOAuthStates, WorkspaceKey

logger = logging.getLogger(__name__)

# manifest.yml's bot scopes: what "Add to Slack" asks for (tests/bot/test_manifest.py checks
# the two lists agree).
BOT_SCOPES = (
    "app_mentions:read",
    "chat:write",
    "commands",
    "channels:history",
    "groups:history",
    "im:history",
    "assistant:write",
    "channels:read",
    "groups:read",
    "mpim:read",
    "users:read",
    "canvases:write",
    "files:write",
)

# Events Slack sends about the installation itself: no token to authorize them with.
INSTALLATION_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})

# Called with the (enterprise id, team id) whose installation is gone (team "": an org-wide
# install): stops its live runs.
Gone = Callable[[str, str], Awaitable[None]]


@dataclass
class Workspaces:
    """The installations of every workspace, as requests need them: authorized from the
    database, each workspace's address learned once (auth.test), unknown ones logged once."""

    installations: SealedInstallations
    states: StoredOAuthStates
    client: tenancy.TenantClient  # the app's Web API client: told which tokens are gone
    _urls: dict[WorkspaceKey, str] = field(default_factory=dict)
    _unknown: set[WorkspaceKey] = field(default_factory=set)

    async def before_authorize(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Bolt's before-authorize middleware: a request from a workspace with no
        installation is answered 200 (acked) here and starts nothing, instead of Bolt's
        error log and apology on every request."""
        event = req.body.get("event") if isinstance(req.body, dict) else None
        kind = event.get("type") if isinstance(event, dict) else None
        if req.body.get("type") in ("url_verification", "ssl_check") or kind in INSTALLATION_EVENTS:
            return await next()
        context = req.context
        key = WorkspaceKey.of(context.enterprise_id, context.team_id, context.is_enterprise_install)
        bot = await self.installations.async_find_bot(
            enterprise_id=context.enterprise_id,
            team_id=context.team_id,
            is_enterprise_install=context.is_enterprise_install,
        )
        if bot is None:
            if key not in self._unknown:
                self._unknown.add(key)
                logger.warning(
                    "a request from workspace %s (enterprise %s), which has not installed "
                    "the app: acked, nothing started (logged once per workspace)",
                    key.team_id or "-",
                    key.enterprise_id or "-",
                )
            return BoltResponse(status=200, body="")
        self._unknown.discard(key)
        context["orchestra_bot"] = bot
        return await next()

    async def url_of(self, key: WorkspaceKey, client: AsyncWebClient, token: str) -> str:
        """The workspace's address (thread links), asked of auth.test once per process."""
        if key not in self._urls:
            try:
                answer = await client.auth_test(token=token)
            except SlackApiError:
                return ""  # links fall back to none; the request is still served
            self._urls[key] = str(answer.get("url") or "")
        return self._urls[key]

    async def tenant_of(self, team_id: str, enterprise_id: str = "") -> tenancy.Tenant | None:
        """A workspace's installation, for a run started outside a request (a resume, a
        takeover): its own, else its org's org-wide one; None when it has neither."""
        bot = await self.installations.find_team(team_id)
        key = WorkspaceKey(bot.enterprise_id or "" if bot else "", team_id)
        if bot is None and enterprise_id:
            bot = await self.installations.async_find_bot(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
            key = WorkspaceKey(enterprise_id, "")
        if bot is None:
            return None
        url = await self.url_of(key, self.client, bot.bot_token)
        return tenancy.Tenant(team_id, bot.enterprise_id or enterprise_id, url, bot.bot_token)

    def forget(self, key: WorkspaceKey) -> None:
        """Drop what is kept of a workspace whose installation is gone."""
        self._urls.pop(key, None)


class InstalledAuthorize(AsyncAuthorize):
    """Bolt's authorize step: the bot token the before-authorize step found, and the
    workspace entered for everything this request starts (`bot.slack.tenancy`)."""

    def __init__(self, workspaces: Workspaces) -> None:
        self._workspaces = workspaces

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult | None:
        """The request's authorization from its workspace's installation."""
        bot = context.get("orchestra_bot")
        if bot is None:
            bot = await self._workspaces.installations.async_find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=context.is_enterprise_install,
            )
        if bot is None:
            return None
        key = WorkspaceKey.of(enterprise_id, team_id, context.is_enterprise_install)
        self._workspaces.client.restore(key.enterprise_id, key.team_id)  # installed (again)
        url = await self._workspaces.url_of(key, context.client, bot.bot_token)
        tenancy.enter(
            tenancy.Tenant(
                team_id=team_id or "",
                enterprise_id=enterprise_id or "",
                url=url,
                token=bot.bot_token,
            )
        )
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            url=url,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


def oauth_flow(settings: Settings, workspaces: Workspaces) -> AsyncOAuthFlow:
    """Bolt's OAuth flow on our stores; oauth.v2.access goes to SLACK_API_URL."""
    secret = settings.slack_client_secret
    return AsyncOAuthFlow(
        # No token: oauth.v2.access authenticates with the client id and secret.
        client=AsyncWebClient(base_url=settings.slack_api_url),
        settings=AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=secret.get_secret_value() if secret is not None else None,
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            redirect_uri=settings.slack_redirect_uri,
            installation_store=workspaces.installations,
            installation_store_bot_only=True,
            state_store=workspaces.states,
            state_expiration_seconds=workspaces.states.expiration_s,
        ),
    )


def event_type(body: dict[str, Any]) -> str:
    """The type of an Events API body's event ("" if none)."""
    event = body.get("event")
    return str(event.get("type", "")) if isinstance(event, dict) else ""


def register_installation_events(app: AsyncApp, workspaces: Workspaces, gone: Gone) -> None:
    """`app_uninstalled` and `tokens_revoked`: the workspace's tokens deleted at once, its
    live runs stopped, and its token never sent again (`TenantClient.revoke`)."""

    async def forget(body: dict[str, Any], context: AsyncBoltContext) -> None:
        authorizations = body.get("authorizations")
        first = authorizations[0] if isinstance(authorizations, list) and authorizations else {}
        org_wide = bool(first.get("is_enterprise_install")) if isinstance(first, dict) else False
        key = WorkspaceKey.of(context.enterprise_id, context.team_id, org_wide)
        await workspaces.installations.async_delete_all(
            enterprise_id=key.enterprise_id or None, team_id=key.team_id or None
        )
        # Its live runs are told to stop first, then the token is never sent again: a run
        # whose call is refused in between would otherwise end as failed, not cancelled.
        await gone(key.enterprise_id, key.team_id)
        workspaces.client.revoke(key.enterprise_id, key.team_id)
        workspaces.forget(key)
        logger.info(
            "%s: the tokens of %s are deleted and its live runs stopped",
            event_type(body),
            key.team_id or key.enterprise_id or "-",
        )

    @app.event("app_uninstalled")
    async def uninstalled(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        await forget(body, context)

    @app.event("tokens_revoked")
    async def revoked(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        tokens = event.get("tokens") if isinstance(event, dict) else None
        # Only bot tokens serve the app; a revoked user token (none is asked for) changes nothing.
        if isinstance(tokens, dict) and tokens.get("bot"):
            await forget(body, context)
