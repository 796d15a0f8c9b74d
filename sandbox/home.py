"""The sandbox page's Home tab of Orchestra: what the app published for the person with
`views.publish` (the fake Slack keeps each person's view), rendered as Slack shows it.

Opening the tab is `app_home_opened` with tab "home", as Slack sends it each time a person
opens it; the app publishes in answer, and the fake announces it (a `home` change), so the
page shows the new view as soon as it lands. Until the app has published one, the tab says it
is waiting."""

from __future__ import annotations

from typing import Any

from sandbox.fakes.slack import BOT_ID, FakeSlack, Message
from sandbox.render import block, names_of
from sandbox.world import World

# A view is no message; its blocks' buttons (none today) still need one to name.
_VIEW = Message("0", "", "", bot_id=BOT_ID)


def home_view(slack: FakeSlack, user: str) -> dict[str, Any]:
    """`user`'s Home tab as the app last published it (`published` False: not yet)."""
    view = slack.home_views.get(user)
    if view is None:
        return {"published": False, "html": ""}
    names = names_of(slack)
    blocks = [b for b in view.get("blocks") or [] if isinstance(b, dict)]
    body = "".join(block(b, _VIEW, names) for b in blocks)
    return {"published": True, "html": f'<div class="home-view">{body}</div>'}


async def open_home(world: World, user: str, dm: str) -> bool:
    """The person opens the Home tab: Slack tells the app (`app_home_opened`, tab "home";
    `dm` is their DM with the app, as Slack names it in the event); whether the app took it."""
    response = await world.open_home(user=user, channel=dm)
    return response.status == 200
