"""End to end: Continue (issue 22.1) of a run cut at its deadline whose answer is a canvas
(issue 23.1) updates that canvas and says so: the continued run carries the parent's id into
its canvas lookup, as Re-run and Retry do."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.render.messages import CONTINUE_ACTION
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world
from tests.e2e.conftest import eventually
from tests.e2e.test_canvas_again import linking
from tests.e2e.test_canvas_report import long_answer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01,
        retry_max_wait_s=1,
        call_timeout_s=60,
        max_attempts=2,
        run_deadline_s=4.0,
    )


@pytest.fixture
async def world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    client = make_client(fake_claude.api_key, fake_claude.base_url, 60)
    async with running_world(fake_slack, AnthropicLLM(client), config) as world:
        yield world
    await client.close()


def _answers(call: CallInfo) -> Reply:
    return Reply(text=long_answer(8_000) + f"\n\nAnswer number {call.index + 1}.")


async def test_continue_updates_the_cut_runs_canvas(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("integrator", _answers)
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, hang=True))
    await world.command("one part hangs", user="U42")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: len(linking(fake_slack, root)) == 1, within=30)
    await eventually(lambda: not world.deps.runs.running, within=30)
    [first] = await world.deps.store.recent_runs(limit=1)
    stored = await world.deps.store.get_run(first.run_id)
    assert stored is not None
    await world.click(
        CONTINUE_ACTION, first.run_id, message_ts=str(stored.plan_ts), thread_ts=root, user="U42"
    )
    await eventually(lambda: len(linking(fake_slack, root)) == 2, within=30)
    await eventually(lambda: not world.deps.runs.running, within=30)
    [canvas] = fake_slack.canvases.values()  # the same canvas, edited
    assert "Answer number 2." in canvas.markdown
    assert "(updated)" in linking(fake_slack, root)[-1].visible_text()
