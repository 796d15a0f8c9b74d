"""End to end: a Re-run of a run whose answer is a canvas (issue 23.1) updates that canvas
(canvases.edit) and says so; where it cannot be edited, a new canvas holds the answer and the
message says a new one was made. (Retry and Continue start their run the same way, with the
parent's id: bot/runs/resume.py `_again`.)"""

from __future__ import annotations

import pytest

from bot.render.messages import RERUN_ACTION
from pipeline import PipelineConfig
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack, Message
from sandbox.world import World
from tests.e2e.conftest import eventually
from tests.e2e.test_canvas_report import long_answer

pytestmark = pytest.mark.e2e


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=60, max_attempts=2
    )


def _answers(call: CallInfo) -> Reply:
    # Each run's answer says which it is: the canvas must hold the latest.
    return Reply(text=long_answer(8_000) + f"\n\nAnswer number {call.index + 1}.")


def linking(slack: FakeSlack, root: str) -> list[Message]:
    """The thread's replies that link a canvas (the root's outcome line links it too)."""
    return [m for m in slack.thread("C1", root)[1:] if "/docs/" in str(m.blocks)]


async def _first_then_rerun(world: World, slack: FakeSlack, claude: FakeAnthropic) -> str:
    claude.respond("integrator", _answers)
    await world.command("compare the options", user="U42")
    await eventually(lambda: bool(slack.channel_messages("C1")))
    root = slack.channel_messages("C1")[0].ts
    await eventually(lambda: len(linking(slack, root)) == 1, within=60)
    await eventually(lambda: not world.deps.runs.running, within=30)
    plan = slack.thread("C1", root)[1]
    run_id = (await world.deps.store.recent_runs(limit=1))[0].run_id
    assert RERUN_ACTION in str(plan.blocks)
    await world.click(RERUN_ACTION, run_id, message_ts=plan.ts, thread_ts=root, user="U42")
    await eventually(lambda: len(linking(slack, root)) == 2, within=60)
    await eventually(lambda: not world.deps.runs.running, within=30)
    return root


@pytest.mark.slow
async def test_a_rerun_updates_the_same_canvas_and_says_so(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    root = await _first_then_rerun(world, fake_slack, fake_claude)
    [canvas] = fake_slack.canvases.values()
    assert "Answer number 2." in canvas.markdown
    assert "Answer number 1." not in canvas.markdown
    first, second = linking(fake_slack, root)
    link = fake_slack.canvas_link(canvas.canvas_id)
    assert link in str(first.blocks)
    assert link in str(second.blocks)
    assert "(updated)" in second.visible_text()
    assert [c.method for c in fake_slack.calls if c.method == "canvases.create"] == [
        "canvases.create"
    ]
    assert any(c.method == "canvases.edit" for c in fake_slack.calls)
    runs = await world.deps.store.recent_runs(limit=2)
    ids = {await world.deps.store.canvas_of(run.run_id) for run in runs}
    assert ids == {canvas.canvas_id}  # both runs record the one canvas


@pytest.mark.slow
async def test_a_canvas_that_cannot_be_edited_is_replaced_by_a_new_one_said_so(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.fail("canvases.edit", error="canvas_not_found", times=None)
    root = await _first_then_rerun(world, fake_slack, fake_claude)
    assert len(fake_slack.canvases) == 2
    newest = list(fake_slack.canvases.values())[-1]
    assert "Answer number 2." in newest.markdown
    second = linking(fake_slack, root)[-1]
    assert fake_slack.canvas_link(newest.canvas_id) in str(second.blocks)
    assert "new canvas" in second.visible_text()
