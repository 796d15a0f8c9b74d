"""`@Orchestra <goal>`: a run in the mention's thread, with the thread as context; and the
App Home tab, published when a person opens it (opening the DM, tab "messages", is
`bot.listeners.assistant`'s)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.deps import Deps
from bot.listeners.requests import from_message
from bot.render.history import HISTORY_SIZE, Spend, home_view
from bot.render.text import HOME_BLOCK_LIMIT
from bot.runs.scoped_settings import home_settings
from bot.slack.tenancy import workspace_key

logger = logging.getLogger(__name__)


async def not_the_dm(event: dict[str, Any]) -> bool:
    """An `app_home_opened` for any tab but the DM ("messages"): Bolt runs only the first
    listener that matches an event."""
    return event.get("tab") != "messages"


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for app mentions and Home tab opens (Bolt acks events before listeners run)."""

    @app.event("app_mention")
    async def mention(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await from_message(deps, body, event, context, source="mention")

    @app.event("app_home_opened", matchers=[not_the_dm])
    async def home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        try:
            view = await _home_view(deps, user)
        except Exception:
            logger.exception("run store: could not read the Home tab's runs")
            return
        await deps.io.client.views_publish(user_id=user, view=view)


# The team's list is the newest runs the person may see among this many of the workspace's
# latest: private channels and DMs they are not in are left out, not counted.
TEAM_WINDOW = 5 * HISTORY_SIZE


async def _home_view(deps: Deps, user: str) -> dict[str, Any]:
    store, workspace = deps.store, deps.team.team_id
    mine = await store.recent_runs(requester=user, limit=HISTORY_SIZE, workspace=workspace)
    latest = await store.recent_runs(limit=TEAM_WINDOW, workspace=workspace)
    team = await deps.visibility.visible(user, latest)
    here = workspace_key()  # the team's spend: this workspace's alone
    spend = Spend(
        await store.spend_today(workspace=here), await store.spend_this_month(workspace=here)
    )
    view = home_view(
        mine,
        team.runs[:HISTORY_SIZE],
        spend,
        deps.team.url,
        deps.settings.command,
        complete=team.complete,
    )
    # The settings (issue 24.4) before the closing note, within Slack's blocks per view.
    blocks = view["blocks"]
    settings = await home_settings(deps, user)
    view["blocks"] = [*blocks[:-1], *settings, *blocks[-1:]][:HOME_BLOCK_LIMIT]
    return view
