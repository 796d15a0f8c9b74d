"""What the team researched, through the real app: `/research history` and the Home tab."""

from __future__ import annotations

import pytest

from pipeline import usd_text
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


async def _answered_run(world: World, goal: str, user: str, channel: str) -> str:
    await world.command(goal, user=user, channel=channel)
    await eventually(lambda: bool(world.slack.channel_messages(channel)))
    root = world.slack.channel_messages(channel)[0].ts
    await eventually(lambda: "tokens in" in thread_text(world.slack.thread(channel, root)))
    await eventually(lambda: not world.deps.runs.running)
    return root


async def test_history_lists_the_channel_runs_privately_with_links(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    for user, name in (("U1", "Ann"), ("U2", "Bo"), ("U3", "Cy")):  # members, not guests
        fake_slack.add_user(user, name)
    root = await _answered_run(world, "compare tide tables", "U1", "C1")
    await _answered_run(world, "elsewhere entirely", "U2", "C2")
    posted_before = len(fake_slack.calls_to("chat.postMessage"))
    await world.command("history", user="U3", channel="C1", reply_to="hist")
    await eventually(lambda: bool(fake_slack.responses_to.get("hist")))
    reply = fake_slack.responses_to["hist"][0]
    assert reply["response_type"] == "ephemeral"
    shown = str(reply["blocks"])
    assert "compare tide tables" in shown
    assert "<@U1>" in shown
    assert f"/archives/C1/p{root.replace('.', '')}" in shown
    assert "$" in shown
    assert "elsewhere entirely" not in shown  # another channel's run
    assert len(fake_slack.calls_to("chat.postMessage")) == posted_before  # nothing public
    assert len(fake_claude.calls_for("orchestrator")) == 2  # "history" is not a goal


async def test_the_home_tab_shows_my_runs_the_teams_and_spend(
    world: World, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U1", "Ann")  # a member of the workspace, who sees public channels
    await _answered_run(world, "my own question", "U1", "C1")
    await _answered_run(world, "a colleague's question", "U2", "C2")
    body, kind = signing.home_opened(user="U1")
    response = await world.post_signed(body, kind)
    assert response.status == 200
    await eventually(lambda: "U1" in fake_slack.home_views)
    blocks = str(fake_slack.home_views["U1"]["blocks"])
    mine, team = blocks.split("The team's recent runs")
    assert "my own question" in mine
    assert "a colleague's question" not in mine
    assert "a colleague's question" in team
    assert "today" in blocks
    spent = await world.deps.store.spend_today()
    assert spent > 0
    assert usd_text(spent) in blocks  # to the cent from $1, else up to four decimals
