"""The fake Slack installs an app by OAuth as Slack documents it: oauth.v2.access checks the
client id, the secret, the code (once) and the redirect URI, and answers with the workspace's
own bot token; several tokens each answer auth.test for their own workspace (and org), and an
uninstalled workspace's token is refused. Driven by the real `AsyncWebClient` over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_oauth import CLIENT_ID, CLIENT_SECRET

REDIRECT = "https://orchestra.example/slack/oauth_redirect"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def error_of(client: AsyncWebClient, **args: str) -> str:
    with pytest.raises(SlackApiError) as refused:
        await client.oauth_v2_access(**args)
    return str(refused.value.response["error"])


async def test_a_code_is_traded_once_for_its_workspaces_bot_token(slack: FakeSlack) -> None:
    team = slack.oauth.add_team("T2", name="Second")
    code = slack.oauth.issue_code(team, REDIRECT, slack.now())
    client = AsyncWebClient(base_url=slack.api_url)
    access = await client.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, redirect_uri=REDIRECT
    )
    assert access["access_token"] == team.token
    assert access["team"] == {"id": "T2", "name": "Second"}
    assert access["token_type"] == "bot"
    assert access["is_enterprise_install"] is False
    again = dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)
    assert await error_of(client, **again, redirect_uri=REDIRECT) == "invalid_code"


async def test_oauth_v2_access_refuses_what_slack_refuses(slack: FakeSlack) -> None:
    team = slack.oauth.add_team("T2")
    code = slack.oauth.issue_code(team, REDIRECT, slack.now())
    client = AsyncWebClient(base_url=slack.api_url)
    good = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT}
    assert await error_of(client, **{**good, "client_id": "9.9"}, code=code) == (
        "invalid_client_id"
    )
    assert await error_of(client, **{**good, "client_secret": "x"}, code=code) == (
        "bad_client_secret"
    )
    assert await error_of(client, **good, code="made-up") == "invalid_code"
    wrong = {**good, "redirect_uri": "https://elsewhere.example/"}
    assert await error_of(client, **wrong, code=code) == "bad_redirect_uri"
    slack.advance(601)  # codes last ten minutes
    assert await error_of(client, **good, code=code) == "invalid_code"


async def test_each_token_answers_auth_test_for_its_own_workspace_and_org(
    slack: FakeSlack,
) -> None:
    two = slack.oauth.add_team("T2")
    three = slack.oauth.add_team("T3", enterprise_id="E1")
    org = slack.oauth.add_team("", enterprise_id="E2", org_wide=True)
    first = await AsyncWebClient(token=slack.bot_token, base_url=slack.api_url).auth_test()
    second = await AsyncWebClient(token=two.token, base_url=slack.api_url).auth_test()
    third = await AsyncWebClient(token=three.token, base_url=slack.api_url).auth_test()
    whole = await AsyncWebClient(token=org.token, base_url=slack.api_url).auth_test()
    assert [first["team_id"], second["team_id"], third["team_id"]] == ["T0TEAM", "T2", "T3"]
    assert "enterprise_id" not in second.data
    assert third["enterprise_id"] == "E1"
    assert (whole["enterprise_id"], whole["is_enterprise_install"]) == ("E2", True)
    assert second["url"] != third["url"]
    assert [c.token for c in slack.calls_to("auth.test")] == [
        slack.bot_token,
        two.token,
        three.token,
        org.token,
    ]


async def test_an_uninstalled_workspaces_token_is_refused_and_others_still_work(
    slack: FakeSlack,
) -> None:
    two, three = slack.oauth.add_team("T2"), slack.oauth.add_team("T3")
    assert slack.oauth.uninstall("T2") == [two.token]
    with pytest.raises(SlackApiError) as refused:
        await AsyncWebClient(token=two.token, base_url=slack.api_url).auth_test()
    assert refused.value.response["error"] == "token_revoked"
    still = await AsyncWebClient(token=three.token, base_url=slack.api_url).auth_test()
    assert still["team_id"] == "T3"
    with pytest.raises(SlackApiError) as unknown:
        await AsyncWebClient(token="xoxb-never-issued", base_url=slack.api_url).auth_test()
    assert unknown.value.response["error"] == "invalid_auth"
