"""Where OAuth installations and OAuth states live: our own tables (migration 0007), behind
slack_sdk's `AsyncInstallationStore` and `AsyncOAuthStateStore`, so Bolt's OAuth flow and
authorization use them as they would slack_sdk's SQLAlchemy stores (which create their own
tables and keep tokens in plain text: we learn from them, not use them).

One row per workspace, or per Enterprise Grid org for an org-wide install; a reinstall
replaces it. Every token is sealed (`bot.store.sealing`) before it is written and opened
after it is read: the database, its backups and its logs never hold one in plain text."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import delete, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.core import StoreCore
from bot.store.sealing import InvalidToken, Sealer
from bot.store.tables import installations, oauth_states

logger = logging.getLogger(__name__)

# Bolt's default: an install must come back from Slack within ten minutes.
STATE_TTL_S = 600


@dataclass(frozen=True, slots=True)
class WorkspaceKey:
    """Which installation serves a request: an org-wide install answers for every workspace
    of its org (team ""), any other install for its own workspace."""

    enterprise_id: str
    team_id: str

    @classmethod
    def of(
        cls, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> WorkspaceKey:
        """The key Slack's ids name (`is_enterprise_install`: an org-wide install)."""
        return cls(enterprise_id or "", "" if is_enterprise_install else (team_id or ""))


class SealedInstallations(StoreCore, AsyncInstallationStore):
    """Installations with sealed tokens, in the app's own database (shared by replicas)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], float], sealer: Sealer) -> None:
        super().__init__(engine, clock)
        self._sealer = sealer
        self._unopenable: set[WorkspaceKey] = set()  # logged once each

    @property
    def logger(self) -> logging.Logger:
        """slack_sdk's interface asks for one."""
        return logger

    def _seal(self, token: str | None) -> str | None:
        return self._sealer.seal(token) if token else None

    async def async_save(self, installation: Installation) -> None:
        """Store (or replace) the installation of its workspace or org."""
        key = WorkspaceKey.of(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        if not installation.bot_token:
            raise ValueError("an installation without a bot token (no bot scopes asked?)")
        expires = installation.bot_token_expires_at
        row: dict[str, Any] = {
            "enterprise_id": key.enterprise_id,
            "team_id": key.team_id,
            "is_enterprise_install": bool(installation.is_enterprise_install),
            "app_id": installation.app_id,
            "enterprise_name": installation.enterprise_name,
            "enterprise_url": installation.enterprise_url,
            "team_name": installation.team_name,
            "bot_id": installation.bot_id,
            "bot_user_id": installation.bot_user_id,
            "bot_scopes": ",".join(installation.bot_scopes or []),
            "bot_token": self._sealer.seal(installation.bot_token),
            "bot_refresh_token": self._seal(installation.bot_refresh_token),
            "bot_token_expires_at": int(expires) if expires is not None else None,
            "installer_id": installation.user_id,
            "user_token": self._seal(installation.user_token),
            "user_scopes": ",".join(installation.user_scopes or []),
            "installed_at": self._now(),
        }
        statement = self._upsert(installations).values(**row)
        keys = {"enterprise_id", "team_id"}
        statement = statement.on_conflict_do_update(
            index_elements=sorted(keys),
            set_={name: value for name, value in row.items() if name not in keys},
        )
        async with self._write() as connection:
            await connection.execute(statement)
        self._unopenable.discard(key)
        logger.info(
            "installed in %s (enterprise %s, org-wide %s)",
            key.team_id or "-",
            key.enterprise_id or "-",
            bool(installation.is_enterprise_install),
        )

    async def async_save_bot(self, bot: Bot) -> None:
        """A rotated bot token (token rotation): the installation's bot fields replaced."""
        key = WorkspaceKey.of(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        values = {
            "bot_token": self._sealer.seal(bot.bot_token),
            "bot_refresh_token": self._seal(bot.bot_refresh_token),
            "bot_token_expires_at": bot.bot_token_expires_at,
            "bot_scopes": ",".join(bot.bot_scopes or []),
        }
        async with self._write() as connection:
            await connection.execute(
                installations.update()
                .where(
                    installations.c.enterprise_id == key.enterprise_id,
                    installations.c.team_id == key.team_id,
                )
                .values(**values)
            )

    async def _row(self, key: WorkspaceKey) -> RowMapping | None:
        async with self._read() as connection:
            result = await connection.execute(
                select(installations).where(
                    installations.c.enterprise_id == key.enterprise_id,
                    installations.c.team_id == key.team_id,
                )
            )
            return result.mappings().first()

    def _open(self, key: WorkspaceKey, sealed: str | None) -> str | None:
        """A sealed token opened; None (logged once) when no configured key opens it."""
        if sealed is None:
            return None
        try:
            return self._sealer.open(sealed)
        except InvalidToken:
            if key not in self._unopenable:
                self._unopenable.add(key)
                logger.error(
                    "no key in ORCHESTRA_ENCRYPTION_KEY opens the stored token of %s "
                    "(enterprise %s): was the key replaced without keeping the old one after "
                    "it? The workspace is treated as not installed until it installs again",
                    key.team_id or "-",
                    key.enterprise_id or "-",
                )
            return None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The installation serving this workspace (or org), tokens opened; None if none."""
        key = WorkspaceKey.of(enterprise_id, team_id, is_enterprise_install)
        row = await self._row(key)
        if row is None:
            return None
        bot_token = self._open(key, row["bot_token"])
        if bot_token is None:
            return None
        return Installation(
            app_id=row["app_id"],
            enterprise_id=row["enterprise_id"] or None,
            enterprise_name=row["enterprise_name"],
            enterprise_url=row["enterprise_url"],
            team_id=row["team_id"] or None,
            team_name=row["team_name"],
            bot_token=bot_token,
            bot_id=row["bot_id"],
            bot_user_id=row["bot_user_id"],
            bot_scopes=row["bot_scopes"] or "",
            bot_refresh_token=self._open(key, row["bot_refresh_token"]),
            bot_token_expires_at=row["bot_token_expires_at"],
            user_id=row["installer_id"] or "",
            user_token=self._open(key, row["user_token"]),
            user_scopes=row["user_scopes"] or "",
            is_enterprise_install=row["is_enterprise_install"],
            installed_at=row["installed_at"].timestamp(),
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The bot of the installation serving this workspace (or org); None if none."""
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found is not None else None

    async def find_team(self, team_id: str) -> Bot | None:
        """The bot of a workspace's own installation, whatever its org (a resumed run knows
        only its team); None if it has none (or only its org installed the app)."""
        async with self._read() as connection:
            result = await connection.execute(
                select(installations.c.enterprise_id).where(installations.c.team_id == team_id)
            )
            enterprise_id = result.scalar_one_or_none()
        if enterprise_id is None or not team_id:
            return None
        return await self.async_find_bot(enterprise_id=enterprise_id or None, team_id=team_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's tokens (`tokens_revoked`, `app_uninstalled`)."""
        await self._delete(enterprise_id, team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Forget the workspace's installation (tokens included)."""
        await self._delete(enterprise_id, team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget everything of the workspace (or, with no team, of the org-wide install)."""
        await self._delete(enterprise_id, team_id)

    async def _delete(self, enterprise_id: str | None, team_id: str | None) -> None:
        key = WorkspaceKey(enterprise_id or "", team_id or "")
        async with self._write() as connection:
            await connection.execute(
                delete(installations).where(
                    installations.c.enterprise_id == key.enterprise_id,
                    installations.c.team_id == key.team_id,
                )
            )
        logger.info("forgot the installation of %s", key.team_id or key.enterprise_id or "-")


class StoredOAuthStates(StoreCore, AsyncOAuthStateStore):
    """OAuth states in the app's own database: issued by /slack/install, consumed once by
    /slack/oauth_redirect on whichever replica it reaches, void after `expiration_s`."""

    def __init__(
        self, engine: AsyncEngine, clock: Callable[[], float], expiration_s: int = STATE_TTL_S
    ) -> None:
        super().__init__(engine, clock)
        self.expiration_s = expiration_s

    @property
    def logger(self) -> logging.Logger:
        """slack_sdk's interface asks for one."""
        return logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new state, stored until it expires (expired ones are swept on the way)."""
        state = secrets.token_urlsafe(32)  # 43 characters, 256 bits
        now = self._now()
        async with self._write() as connection:
            await connection.execute(delete(oauth_states).where(oauth_states.c.expires_at < now))
            await connection.execute(
                oauth_states.insert().values(
                    state=state, expires_at=now + timedelta(seconds=self.expiration_s)
                )
            )
        return state

    async def async_consume(self, state: str) -> bool:
        """Whether `state` was issued here and is still valid; it never is again after."""
        if not state or len(state) > 64:
            return False
        async with self._write() as connection:
            result = await connection.execute(
                delete(oauth_states).where(
                    oauth_states.c.state == state, oauth_states.c.expires_at >= self._now()
                )
            )
        return result.rowcount == 1
