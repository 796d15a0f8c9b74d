"""The fake Slack's `conversations.replies` pages a thread as Slack documents it (its
reference page, read 2026-12): oldest first; the parent first on every first page, whatever
`oldest`/`latest` say, counted in `limit`, with its thread's fields (`reply_count`,
`latest_reply`); `inclusive` takes in both ends of the range; `limit` defaults to its maximum,
1,000, and is capped there; a cursor goes on to newer replies without the parent; outside the
Marketplace pages hold 15 at most, one call a minute. Driven by the real `AsyncWebClient`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.fakes.slack import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])


def a_thread(slack: FakeSlack, replies: int) -> tuple[str, list[str]]:
    parent = slack.add_user_message("C1", "U1", "the parent")
    return parent, [
        slack.add_user_message("C1", "U2", f"reply {i}", thread_ts=parent) for i in range(replies)
    ]


def texts(response: Any) -> list[str]:
    return [str(m["text"]) for m in response["messages"]]


async def test_a_thread_comes_oldest_first_parent_first_with_its_thread_fields(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent, replies = a_thread(slack, 5)
    whole = await client.conversations_replies(channel="C1", ts=parent)
    assert texts(whole) == ["the parent"] + [f"reply {i}" for i in range(5)]
    assert whole["has_more"] is False
    first = whole["messages"][0]
    assert (first["reply_count"], first["latest_reply"]) == (5, replies[-1])
    assert first["reply_users"] == ["U2"]


async def test_the_parent_comes_first_whatever_the_range_and_counts_in_the_limit(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent, replies = a_thread(slack, 10)
    window = await client.conversations_replies(
        channel="C1", ts=parent, oldest=replies[6], latest=replies[8], inclusive=True
    )
    assert texts(window) == ["the parent", "reply 6", "reply 7", "reply 8"]
    exclusive = await client.conversations_replies(
        channel="C1", ts=parent, oldest=replies[6], latest=replies[8]
    )
    assert texts(exclusive) == ["the parent", "reply 7"]
    page = await client.conversations_replies(channel="C1", ts=parent, limit=3)
    assert texts(page) == ["the parent", "reply 0", "reply 1"]
    assert page["has_more"] is True


async def test_a_cursor_goes_on_to_newer_replies_without_the_parent(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent, _ = a_thread(slack, 7)
    seen: list[str] = []
    cursor = None
    while True:
        page = await client.conversations_replies(channel="C1", ts=parent, limit=3, cursor=cursor)
        seen += texts(page)
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == ["the parent"] + [f"reply {i}" for i in range(7)]


async def test_limit_defaults_to_its_maximum_of_1000_and_is_capped_there(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent, _ = a_thread(slack, 1_200)
    default = await client.conversations_replies(channel="C1", ts=parent)
    asked_more = await client.conversations_replies(channel="C1", ts=parent, limit=5_000)
    assert len(default["messages"]) == len(asked_more["messages"]) == 1_000
    assert default["has_more"] is asked_more["has_more"] is True


async def test_outside_the_marketplace_pages_hold_15_at_one_call_a_minute(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent, _ = a_thread(slack, 40)
    slack.outside_marketplace()
    page = await client.conversations_replies(channel="C1", ts=parent, limit=200)
    assert len(page["messages"]) == 15
    assert page["has_more"] is True
    with pytest.raises(SlackApiError) as limited:
        await client.conversations_replies(channel="C1", ts=parent)
    assert limited.value.response.status_code == 429
    assert int(limited.value.response.headers["Retry-After"]) >= 59
