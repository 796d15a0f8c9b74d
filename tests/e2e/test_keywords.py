"""`help` and `history` ask about Orchestra, wherever they are typed: answered privately,
never started as research (issue 20.2.8)."""

from __future__ import annotations

import pytest

from bot.render import notes
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


def private_to(fake_slack: FakeSlack, user: str) -> list[str]:
    """What `user` was shown privately (ephemeral messages Slack shows them)."""
    return [e.text for e in fake_slack.ephemerals if e.user == user and e.shown]


async def test_help_shows_usage_privately_and_starts_nothing(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    assert await world.command_ack("help") == notes.help_text("/research")
    await world.mention("<@UBOT> Help?", user="U2")
    await world.dm("help", user="U3")
    await eventually(lambda: bool(private_to(fake_slack, "U2") and private_to(fake_slack, "U3")))
    assert private_to(fake_slack, "U2") == [notes.help_text("/research")]
    assert private_to(fake_slack, "U3") == [notes.help_text("/research")]
    assert not fake_slack.calls_to("chat.postMessage")
    assert fake_claude.calls == []
    assert await world.deps.store.recent_runs(limit=5) == []


async def test_history_as_a_mention_and_in_a_dm_lists_runs_privately(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    await world.command("compare tide tables", user="U1")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)
    posted, planned = len(fake_slack.calls_to("chat.postMessage")), len(fake_claude.calls)

    await world.mention("<@UBOT> history", user="U1")
    await eventually(lambda: bool(private_to(fake_slack, "U1")))
    [in_channel] = private_to(fake_slack, "U1")
    assert notes.history_here("C1") in in_channel
    assert "compare tide tables" in in_channel
    await world.dm("History", user="U1", channel="D1")
    await eventually(lambda: len(private_to(fake_slack, "U1")) == 2)
    in_dm = private_to(fake_slack, "U1")[1]
    assert notes.HISTORY_MINE in in_dm
    assert "compare tide tables" in in_dm  # the person's runs, from any channel
    assert len(fake_slack.calls_to("chat.postMessage")) == posted  # no run, no reply
    assert len(fake_claude.calls) == planned
    assert len(await world.deps.store.recent_runs(limit=5)) == 1
