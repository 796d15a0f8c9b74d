"""The fake Slack's admins and select menus (issue 24.4; Slack's reference read 2026-12-05,
see `sandbox/fakes/slack_directory.py` and `sandbox/fakes/slack_views.py`): `users.info` says
`is_admin`, `is_owner` and `is_primary_owner` (an owner is an admin too); a modal's
static_select needs 1-100 options and an `initial_option` among them, and its submit carries
the chosen option. Driven by the real `AsyncWebClient`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_views import submit_view

SECRET = "roles-secret"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])


async def test_users_info_says_who_runs_the_workspace(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.add_user("U1", "Ann")
    slack.add_user("U2", "Bo", role="admin")
    slack.add_user("U3", "Cy", role="owner")
    slack.add_user("U4", "Di", role="primary_owner")
    found = {}
    for user in ("U1", "U2", "U3", "U4"):
        info = (await client.users_info(user=user))["user"]
        found[user] = (info["is_admin"], info["is_owner"], info["is_primary_owner"])
    assert found == {
        "U1": (False, False, False),
        "U2": (True, False, False),
        "U3": (True, True, False),
        "U4": (True, True, True),
    }


def option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value.title()}, "value": value}


def modal(options: list[dict[str, Any]], initial: dict[str, Any] | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    if initial is not None:
        element["initial_option"] = initial
    return {
        "type": "modal",
        "callback_id": "pick",
        "title": {"type": "plain_text", "text": "Pick"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "effort",
                "label": {"type": "plain_text", "text": "Effort"},
                "element": element,
            }
        ],
    }


async def test_a_select_needs_options_and_an_initial_option_among_them(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as none:
        await client.views_open(trigger_id=slack.issue_trigger("U1"), view=modal([], None))
    assert none.value.response["error"] == "invalid_arguments"
    stray = modal([option("quick")], option("deep"))
    with pytest.raises(SlackApiError) as elsewhere:
        await client.views_open(trigger_id=slack.issue_trigger("U1"), view=stray)
    assert "initial_option" in str(elsewhere.value.response["response_metadata"])
    good = modal([option("quick"), option("deep")], option("quick"))
    opened = await client.views_open(trigger_id=slack.issue_trigger("U1"), view=good)
    assert opened["ok"]


async def test_a_submit_carries_the_chosen_option(slack: FakeSlack, client: AsyncWebClient) -> None:
    received: list[dict[str, Any]] = []

    async def app(request: web.Request) -> web.Response:
        form = await request.post()
        received.append(json.loads(str(form["payload"])))
        return web.Response(text="")

    server = web.Application()
    server.router.add_post("/slack/events", app)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        view = modal([option("quick"), option("deep")], option("quick"))
        opened = await client.views_open(trigger_id=slack.issue_trigger("U1"), view=view)
        url = f"http://127.0.0.1:{port}/slack/events"
        with pytest.raises(ValueError, match="no option"):
            await submit_view(slack, url, SECRET, opened["view"]["id"], {"effort": "huge"})
        assert await submit_view(slack, url, SECRET, opened["view"]["id"], {"effort": "deep"}) == {}
    finally:
        await runner.cleanup()
    [payload] = received
    chosen = payload["view"]["state"]["values"]["effort"]["value"]
    assert chosen == {"type": "static_select", "selected_option": option("deep")}
