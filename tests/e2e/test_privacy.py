"""Who sees what (issue 19), through the real app over HTTP against both fakes: a person sees,
on the Home tab, in `/research history` and in a limit reply, only the runs Slack would show
them; private words never fall back to a public post; and a mention written by an app or an
integration starts nothing and names nobody."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.render import notes
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_directory import APP_SCOPES
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

ANN, BO, CY, GUS = "U1", "U2", "U3", "U4"  # Gus is a guest
GOALS = {
    "D1": "dm goal about a raise",
    "G1": "private channel goal about layoffs",
    "G2": "group dm goal about a surprise party",
    "C1": "public goal about tide tables",
    "C7": "guest channel goal about the vendor",
}


def people_and_places(slack: FakeSlack) -> None:
    slack.add_user(ANN, "Ann")
    slack.add_user(BO, "Bo")
    slack.add_user(CY, "Cy")
    slack.add_user(GUS, "Gus", guest="multi")
    slack.add_channel("C1", "public_channel", (ANN, BO, CY), "general")
    slack.add_channel("C7", "public_channel", (ANN, GUS), "vendor")
    slack.add_channel("G1", "private_channel", (ANN, BO), "leadership")
    slack.add_channel("G2", "mpim", (ANN, BO))
    slack.add_channel("D1", "im", (ANN,))


async def ann_asks_everywhere(world: World, claude: FakeAnthropic) -> None:
    """Ann asks once in each conversation (her DM with the app included), one answer after
    another (she may have only so many runs going)."""
    for asked, (channel, goal) in enumerate(GOALS.items(), start=1):
        if channel.startswith("D"):
            await world.dm(goal, user=ANN, channel=channel)
        else:
            await world.command(goal, user=ANN, channel=channel)
        await eventually(lambda: len(claude.calls_for("orchestrator")) == asked)  # noqa: B023 - awaited here
        await eventually(lambda: not world.deps.runs.running, within=20)


async def home_of(world: World, user: str) -> tuple[str, str]:
    """What `user` reads on their Home tab: their own runs, and the team's."""
    world.slack.home_views.pop(user, None)
    body, kind = signing.home_opened(user=user)
    assert (await world.post_signed(body, kind)).status == 200
    await eventually(lambda: user in world.slack.home_views)
    mine, team = str(world.slack.home_views[user]["blocks"]).split("The team's recent runs")
    return mine, team


def goals_in(text: str) -> set[str]:
    return {channel for channel, goal in GOALS.items() if goal in text}


@pytest.mark.slow
async def test_home_and_history_show_each_person_only_the_runs_slack_shows_them(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    people_and_places(fake_slack)
    await ann_asks_everywhere(world, fake_claude)

    mine, _ = await home_of(world, ANN)
    assert goals_in(mine) == set(GOALS)  # her own runs, wherever she asked
    # Bo is in the private channel and the group DM; never in Ann's DM with the app.
    assert goals_in((await home_of(world, BO))[1]) == {"G1", "G2", "C1", "C7"}
    # Cy is in neither private conversation: the public channels only (C7 without being in it).
    assert goals_in((await home_of(world, CY))[1]) == {"C1", "C7"}
    # A guest sees only the conversations they are in, public channels included.
    assert goals_in((await home_of(world, GUS))[1]) == {"C7"}
    cy_home = str(fake_slack.home_views[CY]["blocks"])
    assert "/archives/G1/" not in cy_home
    assert "/archives/D1/" not in cy_home

    # `/research history` follows the same rule, in whichever channel it is typed.
    await world.command("history", user=BO, channel="G1", reply_to="bo")
    await world.command("history", user=CY, channel="D1", reply_to="cy")
    await eventually(lambda: bool(fake_slack.responses_to.get("bo")))
    await eventually(lambda: bool(fake_slack.responses_to.get("cy")))
    assert goals_in(str(fake_slack.responses_to["bo"][0]["blocks"])) == {"G1"}
    assert goals_in(str(fake_slack.responses_to["cy"][0]["blocks"])) == set()
    # Membership came from the Web API, asked about as Slack documents it.
    asked = {c.args.get("user") for c in fake_slack.calls_to("users.conversations")}
    assert {BO, GUS} <= asked
    assert all(c.response["ok"] for c in fake_slack.calls_to("users.conversations"))


@pytest.mark.slow
async def test_runs_nobody_could_check_stay_hidden_and_the_tab_says_so(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    people_and_places(fake_slack)
    await ann_asks_everywhere(world, fake_claude)
    fake_slack.scopes = APP_SCOPES - {"groups:read", "mpim:read"}  # a workspace not re-consented
    _, team = await home_of(world, BO)
    assert goals_in(team) == {"C1", "C7"}
    assert notes.UNCHECKED in team
    refused = {c.response.get("needed") for c in fake_slack.calls_to("conversations.info")}
    assert {"groups:read", "mpim:read"} <= refused


@pytest.fixture
async def limited_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """A world with two runs a person, whose runs stay live (slow subagents)."""
    fake_claude.respond("subagent", lambda call: Reply(text="slow", latency=20))
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, max_runs_per_user=2)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
        for run in world.deps.runs.running:
            world.deps.runs.cancel(run.run_id, by="test")
    await client.close()


_REFUSAL = re.compile(r"You already have (\d+) runs? going \((.*)\); the limit per person is 2")


def listed(refusal: str) -> int:
    """How many runs a limit refusal lists: links to threads, plus those still starting."""
    found = _REFUSAL.search(refusal)
    assert found, refusal
    items = found.group(2)
    starting = re.search(r"(\d+) still starting", items)
    count = len(re.findall(r"<[^|>]+\|[^>]*>", items)) + (int(starting.group(1)) if starting else 0)
    assert count == int(found.group(1)), refusal  # the number it says is the list it shows
    return count


async def test_the_limit_reply_lists_what_it_counts_and_never_goes_public(
    limited_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    world = limited_world
    people_and_places(fake_slack)
    fake_slack.add_channel("C2", "public_channel", (ANN,))
    await world.dm(GOALS["D1"], user=ANN, channel="D1")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    # Ann's second run is still starting: Slack takes a while to post its root message.
    fake_slack.fail(
        "chat.postMessage",
        status=429,
        error="ratelimited",
        retry_after=0,
        delay_s=1.5,
        match=lambda args: "second question" in json.dumps(args),
    )
    await world.command("second question", user=ANN, channel="C2")
    refusal = await world.command_ack("third question", user=ANN, channel="C2")
    assert listed(refusal) == 2
    assert GOALS["D1"] in refusal  # her own DM run, shown to her alone

    # Her ephemeral cannot be shown: the reply in the public thread names none of her runs.
    fake_slack.fail("chat.postEphemeral", error="user_not_in_channel", times=None)
    _, ts = await world.mention("<@UBOT> fourth question", user=ANN, channel="C1")
    await eventually(lambda: len(fake_slack.thread("C1", ts)) > 1)
    public = thread_text(fake_slack.thread("C1", ts)[1:])
    assert "<@U1>" in public
    assert "limit per person" in public
    assert GOALS["D1"] not in public
    assert "second question" not in public
    assert "/archives/" not in public
    assert not any(GOALS["D1"] in m.visible_text() for m in fake_slack.messages["C1"])


def app_mention_by(slack: FakeSlack, n: int, **author: Any) -> dict[str, Any]:
    """An `app_mention` event for a message an app or integration wrote in C1 (`author`: its
    bot_id, user, subtype... as Slack sends them)."""
    text = f"<@UBOT> summarise the failed deploy number {n}"
    ts = slack.add_user_message("C1", str(author.get("user", "")), text)
    return {
        "type": "app_mention",
        "channel": "C1",
        "text": text,
        "ts": ts,
        "event_ts": ts,
        **author,
    }


async def test_a_mention_written_by_an_app_or_integration_starts_nothing_and_names_nobody(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    config: PipelineConfig,
) -> None:
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, max_runs_per_user=1)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        for n in range(2):  # twice each: the second would be past a per-person limit of 1
            # An integration (an incoming webhook, a workflow): no user at all.
            hook = {"subtype": "bot_message", "bot_id": "B0HOOK", "username": "ci"}
            # Another app's bot user.
            other = {"user": "U0OTHER", "bot_id": "B0OTHER", "bot_profile": {"id": "B0OTHER"}}
            for author in (hook, other):
                body, kind = signing.event_callback(app_mention_by(fake_slack, n, **author))
                assert (await world.post_signed(body, kind)).status == 200
        await asyncio.sleep(1)  # what a run would have done by now: plan, post, reply
        assert fake_claude.calls == []
        assert world.deps.runs.running == []
        assert [c.method for c in fake_slack.calls if c.method.startswith("chat.")] == []
        everything = " ".join(m.text for ms in fake_slack.messages.values() for m in ms)
        assert "<@>" not in everything
        assert await world.deps.store.recent_runs(limit=5) == []
    await client.close()
