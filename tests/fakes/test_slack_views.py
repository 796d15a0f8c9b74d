"""The fake Slack's modals, as Slack's reference documents them (read 2026-12-09; see
`sandbox/fakes/slack_views.py`): views.open takes a trigger id it issued, once, within 3 s;
a modal over Slack's limits is refused with `invalid_arguments`; a submit reaches the app as a
signed `view_submission` with the inputs' values, and `response_action: errors` keeps the
modal open only for blocks that are inputs of it. Driven by the real `AsyncWebClient`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_views import submit_view

SECRET = "views-secret"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])


def modal(*, title: str = "Edit the plan", max_length: int = 3000, value: str = "x") -> Any:
    return {
        "type": "modal",
        "callback_id": "edit",
        "private_metadata": "run-1",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Approve"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title:s1",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "v",
                    "max_length": max_length,
                    "initial_value": value,
                },
            }
        ],
    }


async def test_a_trigger_opens_one_modal_once(slack: FakeSlack, client: AsyncWebClient) -> None:
    trigger = slack.issue_trigger("U1")
    opened = await client.views_open(trigger_id=trigger, view=modal())
    assert opened["view"]["callback_id"] == "edit"
    with pytest.raises(SlackApiError) as again:
        await client.views_open(trigger_id=trigger, view=modal())
    assert again.value.response["error"] == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as unknown:
        await client.views_open(trigger_id="123.456.abc", view=modal())
    assert unknown.value.response["error"] == "invalid_trigger_id"


async def test_a_trigger_expires_after_three_seconds(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = slack.issue_trigger("U1")
    slack.advance(3.5)
    with pytest.raises(SlackApiError) as late:
        await client.views_open(trigger_id=trigger, view=modal())
    assert late.value.response["error"] == "expired_trigger_id"


@pytest.mark.parametrize(
    "view",
    [
        modal(title="A title longer than twenty-four"),
        modal(max_length=3001),
        modal(max_length=5, value="too long for it"),
        {**modal(), "private_metadata": "m" * 3001},
        {**modal(), "blocks": [{"type": "divider"}] * 101},
        {k: v for k, v in modal().items() if k != "submit"},
    ],
)
async def test_a_modal_past_slacks_limits_is_refused(
    slack: FakeSlack, client: AsyncWebClient, view: Any
) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client.views_open(trigger_id=slack.issue_trigger("U1"), view=view)
    assert refused.value.response["error"] == "invalid_arguments"
    assert refused.value.response["response_metadata"]["messages"]


async def test_a_submit_reaches_the_app_signed_with_the_values(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    received: list[dict[str, Any]] = []
    answers = [{"response_action": "errors", "errors": {"title:s1": "Too short."}}, None]

    async def app(request: web.Request) -> web.Response:
        body = await request.text()
        assert SignatureVerifier(SECRET).is_valid_request(body, dict(request.headers))
        received.append(json.loads(parse_qs(body)["payload"][0]))
        answer = answers.pop(0)
        return web.json_response(answer) if answer else web.Response(text="")

    web_app = web.Application()
    web_app.router.add_post("/slack/events", app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await _submit_twice(slack, client, url, received)
    finally:
        await runner.cleanup()


async def _submit_twice(
    slack: FakeSlack, client: AsyncWebClient, url: str, received: list[dict[str, Any]]
) -> None:
    opened = await client.views_open(trigger_id=slack.issue_trigger("U7"), view=modal())
    view_id = opened["view"]["id"]
    first = await submit_view(slack, url, SECRET, view_id, {"title:s1": "a"})
    assert first["response_action"] == "errors"
    assert slack.views.open[view_id].errors == [{"title:s1": "Too short."}]
    assert await submit_view(slack, url, SECRET, view_id, {}) == {}
    assert slack.views.open[view_id].closed
    state = received[1]["view"]["state"]["values"]
    assert state["title:s1"]["v"]["value"] == "x"  # pre-filled and kept
    assert received[0]["user"]["id"] == "U7"
    assert received[0]["view"]["private_metadata"] == "run-1"


async def test_the_client_sends_no_value_past_max_length(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    opened = await client.views_open(trigger_id=slack.issue_trigger("U1"), view=modal())
    with pytest.raises(ValueError, match="at most"):
        await submit_view(
            slack, "http://127.0.0.1:9/", SECRET, opened["view"]["id"], {"title:s1": "y" * 3001}
        )
