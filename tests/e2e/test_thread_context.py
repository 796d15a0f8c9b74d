"""A mention in a thread plans with the thread's newest messages (issue 19.12), read in as few
`conversations.replies` calls as Slack allows: one for a thread that fits a page, else a
window ending at the mention, sized from the thread's pace. Before: pages of 200 from the
start, ten at most, so a 2,500-reply thread gave replies 1,980-1,999 for ten calls."""

from __future__ import annotations

import pytest

from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


def answered(slack: FakeSlack, parent: str) -> bool:
    return "Integrated answer" in thread_text(slack.thread("C1", parent))


def a_long_thread(slack: FakeSlack, replies: int) -> str:
    parent = slack.add_user_message("C1", "U7", "The big migration thread")
    for i in range(replies):
        slack.add_user_message("C1", "U8", f"reply number {i}", thread_ts=parent)
    return parent


def plan_request(claude: FakeAnthropic) -> str:
    return str(claude.calls_for("orchestrator")[0].body["messages"][0]["content"])


async def test_a_2500_reply_thread_gives_its_newest_messages_in_two_calls(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    parent = a_long_thread(fake_slack, 2_500)
    _, mention = await world.mention("<@UBOT> summarise the risks", thread_ts=parent)
    await eventually(lambda: answered(fake_slack, parent), within=30)
    context = plan_request(fake_claude)
    # ORCHESTRA_THREAD_CONTEXT_MESSAGES (20): replies 2,480 to 2,499, the newest before it.
    for i in range(2_480, 2_500):
        assert f"reply number {i}\n" in context + "\n"
    assert "reply number 2479" not in context
    assert "reply number 1999" not in context
    assert "The big migration thread" not in context
    calls = fake_slack.calls_to("conversations.replies")
    # One call cannot find the end of a thread longer than a page (Slack pages oldest
    # first): the first shows its length and pace, the second is a window before the mention.
    assert len(calls) == 2
    assert calls[0].args.get("latest") == mention
    assert "oldest" not in calls[0].args
    assert calls[1].args.get("latest") == mention
    assert calls[1].args.get("oldest")


async def test_a_thread_that_fits_a_page_takes_one_call_and_keeps_its_parent(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    parent = a_long_thread(fake_slack, 12)
    await world.mention("<@UBOT> summarise the risks", thread_ts=parent)
    await eventually(lambda: answered(fake_slack, parent))
    context = plan_request(fake_claude)
    assert "The big migration thread" in context
    assert all(f"reply number {i}" in context for i in range(12))
    assert len(fake_slack.calls_to("conversations.replies")) == 1
