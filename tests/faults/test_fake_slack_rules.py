"""The fake Slack answers as Slack documents it, so fault tests test real cases: documented
error codes only, a whole-message limit, channel membership, ephemeral visibility in threads
and response_url expiry. Plus the app's private replies, which rely on the last of these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import make_slack_client
from bot.slack.io import SlackIO
from bot.slack.pacing import Pacer
from bot.slack.requester import RESPONSE_URL_TTL_S, Requester
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_limits import MESSAGE_BLOCKS_TEXT


@pytest.fixture
def client(fake_slack: FakeSlack) -> AsyncWebClient:
    return make_slack_client(fake_slack.bot_token, fake_slack.api_url)


async def error_of(call: Awaitable[object]) -> str:
    try:
        await call
    except SlackApiError as exc:
        return str(exc.response["error"])
    return "ok"


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("chat.postMessage", "msg_too_long"),  # chat.update's code, not chat.postMessage's
        ("chat.update", "msg_blocks_too_long"),
        ("chat.update", "not_in_channel"),
        ("conversations.replies", "not_in_channel"),
        ("chat.postMessage", "too_many_blocks"),
        ("chat.postMessage", "internal_error"),  # a 5xx body, never an HTTP 200 answer
        ("chat.scheduleMessage", "ratelimited"),  # not a method the fake serves
    ],
)
def test_faults_slack_never_answers_cannot_be_injected(
    fake_slack: FakeSlack, method: str, error: str
) -> None:
    with pytest.raises(ValueError, match="not a fault Slack can answer"):
        fake_slack.fail(method, error=error)


def test_documented_faults_can_be_injected(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", error="msg_blocks_too_long")
    fake_slack.fail("chat.update", error="msg_too_long")
    fake_slack.fail("chat.update", status=500, error="internal_error")
    fake_slack.fail("chat.postEphemeral", status=429, error="ratelimited", retry_after=0)
    fake_slack.fail("conversations.replies", reset=True)


async def test_a_message_over_the_whole_message_block_text_limit_is_refused(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    half = [{"type": "markdown", "text": "x" * (MESSAGE_BLOCKS_TEXT // 2)}]
    assert await error_of(client.chat_postMessage(channel="C1", text="t", blocks=half)) == "ok"
    blocks = half + [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 2000}}] * 3
    too_long = client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    assert await error_of(too_long) == "msg_blocks_too_long"
    ts = fake_slack.channel_messages("C1")[0].ts
    assert (
        await error_of(client.chat_update(channel="C1", ts=ts, text="t", blocks=blocks))
        == "msg_too_long"
    )
    malformed = client.chat_postMessage(channel="C1", text="t", blocks='["not a block"]')
    assert await error_of(malformed) == "invalid_blocks_format"


async def test_an_edit_without_blocks_keeps_them_and_an_empty_list_removes_them(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "with a button"}}]
    await client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    message = fake_slack.channel_messages("C1")[0]
    await client.chat_update(channel="C1", ts=message.ts, text="new text")
    assert message.blocks == blocks
    await client.chat_update(channel="C1", ts=message.ts, text="plain", blocks=[])
    assert message.blocks == []
    assert message.visible_text() == "plain"


async def test_channels_without_the_bot_or_archived_refuse_posts_as_slack_does(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="C1", text="before")
    ts = fake_slack.channel_messages("C1")[0].ts
    fake_slack.remove_bot("C1")
    assert await error_of(client.chat_postMessage(channel="C1", text="x")) == "not_in_channel"
    assert await error_of(client.chat_update(channel="C1", ts=ts, text="x")) == "channel_not_found"
    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="x")
    assert await error_of(ephemeral) == "not_in_channel"
    fake_slack.add_bot("C1")
    fake_slack.archive("C1")
    assert await error_of(client.chat_postMessage(channel="C1", text="x")) == "is_archived"
    assert await error_of(client.chat_update(channel="C1", ts=ts, text="x")) == "is_inactive"
    assert await error_of(client.chat_postMessage(channel="C2", text="x")) == "ok"


async def test_an_ephemeral_aimed_at_a_thread_that_does_not_exist_is_never_shown(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    lonely = fake_slack.add_user_message("C1", "U1", "a message with no replies")
    await client.chat_postEphemeral(channel="C1", user="U1", text="lost", thread_ts=lonely)
    fake_slack.add_user_message("C1", "U2", "a reply", thread_ts=lonely)
    await client.chat_postEphemeral(channel="C1", user="U1", text="seen", thread_ts=lonely)
    await client.chat_postEphemeral(channel="C1", user="U1", text="in channel")
    assert fake_slack.visible_ephemeral("U1") == ["seen", "in channel"]
    assert [e.shown for e in fake_slack.ephemerals] == [False, True, True]


async def test_a_response_url_takes_five_posts_within_thirty_minutes(fake_slack: FakeSlack) -> None:
    busy, late = AsyncRespond(response_url=fake_slack.response_url), None
    statuses = [(await busy(text=f"reply {i}")).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    late = AsyncRespond(response_url=fake_slack.response_url)
    fake_slack.advance(30 * 60 + 1)
    response = await late(text="too late")
    assert (response.status_code, response.body) == (404, "expired_url")
    assert [r["text"] for r in fake_slack.responses] == [f"reply {i}" for i in range(5)]


# --- the app's private replies to a slash command -------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replies(fake_slack: FakeSlack, clock: Clock) -> Callable[[str], Awaitable[None]]:
    io = SlackIO(make_slack_client(fake_slack.bot_token, fake_slack.api_url), Pacer())
    respond = AsyncRespond(response_url=fake_slack.response_url)
    return Requester(io, channel="C1", user="U1", respond=respond, clock=clock).tell


async def test_private_replies_past_five_go_by_ephemeral_message(fake_slack: FakeSlack) -> None:
    notify = replies(fake_slack, Clock())
    for i in range(7):
        await notify(f"news {i}")
    assert [r["text"] for r in fake_slack.responses] == [f"news {i}" for i in range(5)]
    assert fake_slack.visible_ephemeral("U1", "C1") == ["news 5", "news 6"]


async def test_private_replies_after_thirty_minutes_go_by_ephemeral_message(
    fake_slack: FakeSlack,
) -> None:
    clock = Clock()
    notify = replies(fake_slack, clock)
    clock.now += RESPONSE_URL_TTL_S
    await notify("the run ended")
    assert fake_slack.responses == []  # not even tried: Slack would refuse it
    assert fake_slack.visible_ephemeral("U1", "C1") == ["the run ended"]


async def test_a_refused_response_url_post_falls_back_to_an_ephemeral_message(
    fake_slack: FakeSlack,
) -> None:
    notify = replies(fake_slack, Clock())
    fake_slack.advance(31 * 60)  # Slack's clock ran on; ours did not notice
    await notify("the run ended")
    assert fake_slack.visible_ephemeral("U1", "C1") == ["the run ended"]
