"""The workspace a request (and the run it starts) is served in, when the app is installed in
many workspaces by OAuth.

Bolt authorizes each request for its workspace (`bot.serving.tenants`), which sets `serving`
here; asyncio copies the context into every task created afterwards, so the listener, the
run it starts and that run's own tasks all see the same workspace, however long they live.
A run resumed at start-up or taken over from another replica enters its workspace itself.
The app's one Web API client (`TenantClient`) then calls Slack with the token of the
workspace being served, so nothing that calls Slack has to be handed a token: no call can be
made with another workspace's. Single-workspace mode never sets it (SLACK_BOT_TOKEN serves)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from bot.coordination.counts import scoped

__all__ = ["Tenant", "TenantClient", "current", "enter", "scoped", "serving", "workspace_key"]


@dataclass(frozen=True)
class Tenant:
    """One installation's workspace: ids, its address (for links) and its bot token."""

    team_id: str
    enterprise_id: str = ""
    url: str = ""
    token: str = field(default="", repr=False)  # never in a log line or an error


_serving: ContextVar[Tenant | None] = ContextVar("orchestra_tenant", default=None)


def current() -> Tenant | None:
    """The workspace being served here (None: single-workspace mode, or outside requests)."""
    return _serving.get()


def workspace_key() -> str:
    """What counts and queues are kept under for the workspace being served: its team id
    (an org-wide install's org id when a request names no team); "" in single-workspace
    mode, where one workspace is all there is (and the keys stay as they always were)."""
    tenant = _serving.get()
    if tenant is None:
        return ""
    return tenant.team_id or tenant.enterprise_id


def enter(tenant: Tenant) -> None:
    """Serve `tenant` from here on in this context (and tasks created from it): for Bolt's
    authorize step, whose request task ends with the request."""
    _serving.set(tenant)


@contextlib.contextmanager
def serving(tenant: Tenant) -> Iterator[None]:
    """Serve `tenant` inside the block (a resumed run, a test)."""
    token = _serving.set(tenant)
    try:
        yield
    finally:
        _serving.reset(token)


class TenantClient(AsyncWebClient):
    """A Web API client whose token is the workspace's being served (its own otherwise)."""

    _own_token: str | None = None
    # Installations gone (uninstalled, tokens revoked): (enterprise id, team id), team ""
    # for an org-wide one. Their runs' last words are never sent with the dead token.
    _gone: frozenset[tuple[str, str]] = frozenset()

    def revoke(self, enterprise_id: str, team_id: str) -> None:
        """Never send this installation's token again (a reinstall `restore`s it)."""
        self._gone = self._gone | {(enterprise_id, team_id)}

    def restore(self, enterprise_id: str, team_id: str) -> None:
        """The installation is back: its (new) token may be sent."""
        self._gone = self._gone - {(enterprise_id, team_id)}

    @property  # slack_sdk reads `self.token` on every call: a property serves each context
    def token(self) -> str | None:
        """The served workspace's bot token, else the one the client was made with."""
        tenant = _serving.get()
        if tenant is None or not tenant.token:
            return self._own_token
        gone = self._gone
        if (tenant.enterprise_id, tenant.team_id) in gone or (tenant.enterprise_id, "") in gone:
            return None  # Slack answers not_authed; the token itself never leaves again
        return tenant.token

    @token.setter
    def token(self, value: str | None) -> None:
        self._own_token = value
