"""End to end: the channel shows how each run ended (issue 23.4). A /research run's root
message (the app's own) ends with its outcome — answered (with the canvas link when a canvas
holds the answer), failed, cancelled, cut at the deadline — and every plan message's header
says it, which is where a mention's run (whose root is the person's) shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.render.messages import CANCEL_ACTION
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack, Message
from sandbox.world import World, running_world
from tests.e2e.conftest import eventually, thread_text
from tests.e2e.test_canvas_report import long_answer

pytestmark = pytest.mark.e2e

DEADLINE_S = 4.0


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01,
        retry_max_wait_s=1,
        call_timeout_s=60,
        max_attempts=2,
        run_deadline_s=DEADLINE_S,
    )


@pytest.fixture
async def world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    client = make_client(fake_claude.api_key, fake_claude.base_url, 60)
    async with running_world(fake_slack, AnthropicLLM(client), config) as world:
        yield world
    await client.close()


def root_of(slack: FakeSlack) -> Message:
    return slack.channel_messages("C1")[0]


def last_line(message: Message) -> str:
    return str(message.blocks[-1]["elements"][0]["text"])


def plan_head(slack: FakeSlack, root: str) -> str:
    return str(slack.thread("C1", root)[1].blocks[0]["text"]["text"])


async def _ended(world: World, slack: FakeSlack, what: str) -> str:
    await eventually(lambda: bool(slack.channel_messages("C1")))
    root = root_of(slack).ts
    await eventually(lambda: not world.deps.runs.running, within=30)
    await eventually(lambda: what in last_line(root_of(slack)), within=10)
    return root


async def test_an_answered_run_says_so_on_its_root_with_its_canvas(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("integrator", lambda c: Reply(text=long_answer(8_000)))
    await world.command("compare the options", user="U42")
    root = await _ended(world, fake_slack, "Answered")
    [canvas] = fake_slack.canvases.values()
    shown = last_line(root_of(fake_slack))
    assert fake_slack.canvas_link(canvas.canvas_id) in shown
    assert "compare the options" in root_of(fake_slack).visible_text()  # who asked what stays
    await eventually(lambda: plan_head(fake_slack, root).startswith(":white_check_mark:"))


async def test_a_failed_run_says_so_on_its_root(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(role="subagent", times=None, status=400))
    await world.command("this will fail", user="U42")
    root = await _ended(world, fake_slack, "Failed")
    await eventually(lambda: plan_head(fake_slack, root).startswith(":x: *Failed:*"))


async def test_a_cancelled_run_says_so_on_its_root(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=30))
    await world.command("a slow one", user="U42")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) >= 3)
    root = root_of(fake_slack).ts
    plan = fake_slack.thread("C1", root)[1]
    [run_id] = list(world.deps.runs._runs)
    await world.click(CANCEL_ACTION, run_id, message_ts=plan.ts, thread_ts=root, user="U42")
    await _ended(world, fake_slack, "Cancelled")
    await eventually(lambda: "*Cancelled:*" in plan_head(fake_slack, root))


@pytest.mark.slow
async def test_a_run_cut_at_the_deadline_says_so_on_its_root(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, hang=True))
    await world.command("one part hangs", user="U42")
    root = await _ended(world, fake_slack, "Cut at the deadline")
    assert "Continue" in last_line(root_of(fake_slack))
    await eventually(lambda: plan_head(fake_slack, root).startswith(":alarm_clock:"))


async def test_a_mentions_plan_header_says_how_it_ended_and_its_root_is_left_alone(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    _, ts = await world.mention("<@UBOT> why are there tides")
    await eventually(lambda: len(fake_slack.thread("C1", ts)) >= 3, within=20)
    await eventually(lambda: not world.deps.runs.running, within=30)
    await eventually(lambda: plan_head(fake_slack, ts).startswith(":white_check_mark:"))
    assert "subtasks done" in thread_text(fake_slack.thread("C1", ts))
    assert not [c for c in fake_slack.calls if c.method == "chat.update" and c.args["ts"] == ts]


async def test_history_and_the_home_tab_link_a_runs_canvas(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.add_user("U42", "Ann")  # a member, who sees the channel's runs
    fake_claude.respond("integrator", lambda c: Reply(text=long_answer(8_000)))
    await world.command("compare the options", user="U42")
    await _ended(world, fake_slack, "Answered")
    [canvas] = fake_slack.canvases.values()
    link = fake_slack.canvas_link(canvas.canvas_id)
    await world.command("history", user="U42", channel="C1", reply_to="hist")
    await eventually(lambda: bool(fake_slack.responses_to.get("hist")))
    assert f"<{link}|canvas>" in str(fake_slack.responses_to["hist"][0]["blocks"])
    await world.open_home(user="U42")
    await eventually(lambda: "U42" in fake_slack.home_views)
    assert f"<{link}|canvas>" in str(fake_slack.home_views["U42"]["blocks"])
