"""The fake Slack's side of installing an app by OAuth: several workspaces, each with its own
bot token, and `oauth.v2.access` trading a one-time code for one of them.

Slack's reference for oauth.v2.access (docs.slack.dev, read 2026-12 via the SDK docs that copy
it): arguments `client_id`, `client_secret` (as form fields or HTTP Basic auth, which
slack_sdk uses), `code` (once, and only for a few minutes), `redirect_uri` (must match the
one of the authorize step, when one was sent there); errors `invalid_client_id`,
`bad_client_secret`, `invalid_code`, `bad_redirect_uri`. Its answer: `access_token` (xoxb-),
`token_type` "bot", `scope`, `bot_user_id`, `app_id`, `team` {id, name}, `enterprise`
{id, name} or null, `authed_user` {id}, `is_enterprise_install`. An org-wide install on
Enterprise Grid has `team` null and `is_enterprise_install` true.

`auth.test` answers for the token's own workspace (and org); a token whose installation was
removed (`uninstall`) is refused with `token_revoked`, as Slack refuses it."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from sandbox.fakes.signing import APP

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"  # noqa: S105 - the fake app's own, not a secret
CODE_TTL_S = 600.0  # Slack: "codes expire after ten minutes"


@dataclass
class InstalledTeam:
    """One installation: a workspace (or, org-wide, an Enterprise Grid org) and its token."""

    team_id: str  # "" for an org-wide install
    team_name: str
    token: str
    enterprise_id: str = ""
    is_enterprise_install: bool = False
    bot_user: str = "UBOT"
    bot_id: str = "B0BOT"
    installer: str = "U1"
    revoked: bool = False

    @property
    def url(self) -> str:
        """The workspace's (or org's) address, as auth.test gives it."""
        name = (self.team_id or self.enterprise_id).lower()
        return f"https://{name}.slack.com/"

    def auth_test(self) -> dict[str, Any]:
        """auth.test's answer for this installation's bot token."""
        answer: dict[str, Any] = {
            "ok": True,
            "url": self.url,
            "team": self.team_name,
            "user": "orchestra",
            "team_id": self.team_id,
            "user_id": self.bot_user,
            "bot_id": self.bot_id,
            "is_enterprise_install": self.is_enterprise_install,
        }
        if self.enterprise_id:
            answer["enterprise_id"] = self.enterprise_id
        return answer


@dataclass
class _Code:
    team: InstalledTeam
    redirect_uri: str
    issued_at: float
    used: bool = False


@dataclass
class OAuthApp:
    """The app's OAuth credentials and every workspace that installed it."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    teams: dict[str, InstalledTeam] = field(default_factory=dict)  # token -> installation
    _codes: dict[str, _Code] = field(default_factory=dict)

    def add_team(
        self,
        team_id: str,
        *,
        name: str = "",
        enterprise_id: str = "",
        org_wide: bool = False,
    ) -> InstalledTeam:
        """A workspace (or an org, `org_wide`) with a bot token of its own, not yet given out."""
        token = f"xoxb-{(team_id or enterprise_id).lower()}-{secrets.token_hex(8)}"
        team = InstalledTeam(
            team_id="" if org_wide else team_id,
            team_name=name or team_id,
            token=token,
            enterprise_id=enterprise_id,
            is_enterprise_install=org_wide,
        )
        self.teams[token] = team
        return team

    def issue_code(self, team: InstalledTeam, redirect_uri: str, now: float) -> str:
        """The code Slack sends back to the redirect URL once a person approved the install."""
        code = f"code-{secrets.token_hex(6)}"
        self._codes[code] = _Code(team, redirect_uri, now)
        return code

    def team_of(self, token: str) -> InstalledTeam | None:
        """The installation a bot token belongs to."""
        return self.teams.get(token)

    def uninstall(self, team_id: str) -> list[str]:
        """The app is uninstalled from `team_id` (or the org): its tokens are refused from now."""
        gone = [
            t for t in self.teams.values() if team_id in (t.team_id, t.enterprise_id) and t.token
        ]
        for team in gone:
            team.revoked = True
        return [t.token for t in gone]

    def access(self, args: dict[str, Any], authorization: str, now: float) -> dict[str, Any]:
        """oauth.v2.access: the credentials, the code and the redirect URI checked, in
        Slack's order; a code works once."""
        client_id, client_secret = _basic(authorization)
        client_id = str(args.get("client_id") or client_id)
        client_secret = str(args.get("client_secret") or client_secret)
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        code = self._codes.get(str(args.get("code") or ""))
        if code is None or code.used or now - code.issued_at > CODE_TTL_S:
            return {"ok": False, "error": "invalid_code"}
        if code.redirect_uri and str(args.get("redirect_uri") or "") != code.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}
        code.used = True
        team = code.team
        return {
            "ok": True,
            "app_id": APP,
            "authed_user": {"id": team.installer},
            "scope": "commands,chat:write,app_mentions:read",
            "token_type": "bot",
            "access_token": team.token,
            "bot_user_id": team.bot_user,
            "team": None
            if team.is_enterprise_install
            else {"id": team.team_id, "name": team.team_name},
            "enterprise": {"id": team.enterprise_id, "name": team.enterprise_id}
            if team.enterprise_id
            else None,
            "is_enterprise_install": team.is_enterprise_install,
        }


def _basic(authorization: str) -> tuple[str, str]:
    """The client id and secret of an HTTP Basic Authorization header ("", "" if none)."""
    if not authorization.startswith("Basic "):
        return "", ""
    try:
        decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
    except ValueError:
        return "", ""
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret
