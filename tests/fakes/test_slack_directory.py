"""The fake Slack's directory answers as Slack documents it: `users.conversations` (types,
membership, cursor pagination, "non-public channels ... where the calling user shares
membership"), `conversations.info`, `users.info` with guest flags, and a call the token has
no scope for refused with `missing_scope` (`needed`, `provided`), driven by the real
`AsyncWebClient` over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_directory import APP_SCOPES


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user("U1", "Ann")
        fake.add_user("U2", "Guest Bo", guest="multi")
        fake.add_user("U3", "Single Cy", guest="single")
        fake.add_channel("C1", "public_channel", ("U1", "U2"), "general")
        fake.add_channel("C2", "public_channel", ("U3",), "random")
        fake.add_channel("G1", "private_channel", ("U1",), "secret")
        fake.add_channel("G2", "mpim", ("U1", "U2"))
        fake.add_channel("G3", "private_channel", ("U1",), "without-the-bot")
        fake.remove_bot("G3")
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


async def refusal(call: Awaitable[object]) -> dict[str, object]:
    with pytest.raises(SlackApiError) as refused:
        await call
    return dict(refused.value.response.data)


async def test_users_conversations_lists_a_persons_conversations_of_the_types_asked(
    client: AsyncWebClient,
) -> None:
    listed = await client.users_conversations(
        user="U1", types="public_channel,private_channel,mpim"
    )
    # G3 is private and the bot is not in it: Slack lists only what the caller shares.
    assert [c["id"] for c in listed["channels"]] == ["C1", "G1", "G2"]
    default = await client.users_conversations(user="U1")  # types default to public_channel
    assert [c["id"] for c in default["channels"]] == ["C1"]
    kinds = {c["id"]: (c["is_private"], c["is_mpim"]) for c in listed["channels"]}
    assert kinds == {"C1": (False, False), "G1": (True, False), "G2": (True, True)}


async def test_users_conversations_pages_with_cursors(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    for n in range(5):
        slack.add_channel(f"C9{n}", "public_channel", ("U1",))
    slack.page_size = 2  # "Fewer than the requested number of items may be returned"
    seen, cursor, pages = [], None, 0
    while True:
        listed = await client.users_conversations(user="U1", limit=999, cursor=cursor)
        seen += [c["id"] for c in listed["channels"]]
        pages += 1
        cursor = listed["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert seen == ["C1", "C90", "C91", "C92", "C93", "C94"]
    assert pages == 3
    bad = await refusal(client.users_conversations(user="U1", cursor="not-a-cursor"))
    assert bad["error"] == "invalid_cursor"
    assert (await refusal(client.users_conversations(types="channels")))["error"] == (
        "invalid_types"
    )


async def test_a_call_without_its_scope_is_refused_with_missing_scope(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.scopes = APP_SCOPES - {"groups:read", "mpim:read", "users:read"}
    refused = await refusal(
        client.users_conversations(user="U1", types="public_channel,private_channel,mpim")
    )
    assert refused["error"] == "missing_scope"
    assert refused["needed"] == "groups:read,mpim:read"
    provided = str(refused["provided"]).split(",")
    assert "channels:read" in provided
    assert "groups:read" not in provided
    assert (await client.users_conversations(user="U1"))["ok"]  # public channels only
    info = await refusal(client.conversations_info(channel="G1"))
    assert (info["error"], info["needed"]) == ("missing_scope", "groups:read")
    assert (await client.conversations_info(channel="C1"))["channel"]["is_private"] is False
    user = await refusal(client.users_info(user="U1"))
    assert (user["error"], user["needed"]) == ("missing_scope", "users:read")


async def test_conversations_info_and_users_info_say_who_sees_what(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    private = (await client.conversations_info(channel="G1"))["channel"]
    assert (private["is_private"], private["is_mpim"], private["is_member"]) == (
        True,
        False,
        True,
    )
    assert (await client.conversations_info(channel="G2"))["channel"]["is_mpim"] is True
    # A DM needs im:read, which the app does not ask for: it knows a DM by its ID.
    dm = await refusal(client.conversations_info(channel="D7"))
    assert (dm["error"], dm["needed"]) == ("missing_scope", "im:read")
    # A private channel the bot is not in does not exist as far as the bot can tell.
    hidden = await refusal(client.conversations_info(channel="G3"))
    assert hidden["error"] == "channel_not_found"
    flags = {}
    for user in ("U1", "U2", "U3"):
        found = (await client.users_info(user=user))["user"]
        flags[user] = (found["is_restricted"], found["is_ultra_restricted"])
    assert flags == {"U1": (False, False), "U2": (True, False), "U3": (True, True)}
    slack.leave("C1", "U2")
    listed = await client.users_conversations(user="U2", types="public_channel,mpim")
    assert [c["id"] for c in listed["channels"]] == ["G2"]
