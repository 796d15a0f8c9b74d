"""How Claude's reply ended, through the real app: an answer cut at its length limit says so
under it (in a channel and in a DM), and a subagent's refusal is a failed subtask whose plan
entry gives the reason."""

from __future__ import annotations

import pytest

from pipeline import PipelineConfig
from pipeline.testing import simple_plan
from pipeline.words import REFUSED_SUBTASK
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

CUT = (
    "This answer was cut short: it reached its length limit of 4,096 tokens, so it may end mid-way."
)


def cut_answer(call: CallInfo) -> Reply:
    return Reply(text="The tides rise twice a day because", stop_reason="max_tokens")


@pytest.mark.slow
async def test_an_answer_cut_at_max_tokens_says_so_under_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> None:
    assert config.integrator_max_tokens == 4096
    fake_claude.respond("integrator", cut_answer)
    await world.command("explain tides", user="U1")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)

    answer = thread_text(fake_slack.thread("C1", root)[2:])
    assert "The tides rise twice a day because" in answer
    assert f":scissors: {CUT}" in answer
    assert answer.index(CUT) < answer.index("tokens in")  # above the footer, never missed

    # A whole answer carries no such note.
    fake_claude.respond("integrator", lambda c: Reply(text="Tides rise twice a day."))
    await world.command("explain tides again", user="U1")
    await eventually(lambda: len(fake_slack.channel_messages("C1")) == 2)
    second = fake_slack.channel_messages("C1")[1].ts
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", second)))
    assert "cut short" not in thread_text(fake_slack.thread("C1", second))


async def test_an_answer_cut_at_max_tokens_in_a_dm_says_so_under_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("integrator", cut_answer)
    _, ts = await world.dm("explain tides")
    await eventually(lambda: not world.deps.runs.running and bool(fake_slack.streams_in("D1", ts)))
    stream = fake_slack.streams_in("D1", ts)[-1]
    await eventually(lambda: stream.state != "streaming")
    assert "The tides rise twice a day because" in stream.text
    closing = str(stream.blocks)
    assert CUT in closing
    assert closing.index(CUT) < closing.index("tokens in")


async def test_a_subagent_refusal_is_a_failed_subtask_with_its_reason(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(simple_plan("goal", 3))

    def subagent(call: CallInfo) -> Reply:
        if "aspect 2" in call.user_text:
            return Reply(text="I can't help with that.", stop_reason="refusal")
        return Reply(text=f"Finding {call.index}.")

    fake_claude.respond("subagent", subagent)
    await world.command("research three aspects", user="U1")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)

    thread = fake_slack.thread("C1", root)
    plan = thread[1].visible_text()
    assert f"failed: {REFUSED_SUBTASK}" in plan
    answer = thread_text(thread[2:])
    assert "2/3 subtasks done" in answer
    assert "Not included: Researcher of aspect 2 (failed)" in answer
    # Not re-asked, and its words never reach the integrator as a finding.
    assert len(fake_claude.calls_for("subagent")) == 3
    prompt = str(fake_claude.calls_for("integrator")[0].body["messages"])
    assert "I can't help with that." not in prompt
