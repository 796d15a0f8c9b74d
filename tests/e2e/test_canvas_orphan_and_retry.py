"""End to end (issue 23.1): a canvas Slack made but would not share (canvases.access.set
refused) is deleted, and the answer goes as messages as where canvases are refused; a Retry of
a run whose answer is a canvas edits that canvas, as a Re-run does."""

from __future__ import annotations

import pytest

from bot.render.messages import RETRY_ACTION
from pipeline import PipelineConfig
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text
from tests.e2e.test_canvas_again import linking
from tests.e2e.test_canvas_report import long_answer

pytestmark = pytest.mark.e2e


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=60, max_attempts=2
    )


@pytest.mark.parametrize("refusal", ["failed_to_update_channel_ids", "restricted_action"])
async def test_a_canvas_that_cannot_be_shared_is_deleted_and_the_answer_goes_as_messages(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, refusal: str
) -> None:
    fake_slack.fail("canvases.access.set", error=refusal, times=None)
    fake_claude.respond("integrator", lambda _: Reply(text=long_answer(30_000)))
    await world.command("compare the options", user="U42")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: not world.deps.runs.running, within=60)
    await eventually(lambda: "subtasks done" in thread_text(fake_slack.thread("C1", root)))

    methods = [c.method for c in fake_slack.calls if c.method.startswith("canvases.")]
    assert methods == ["canvases.create", "canvases.access.set", "canvases.delete"]
    assert not fake_slack.canvases  # the made canvas is gone
    answer = fake_slack.thread("C1", root)[2:]
    shown = thread_text(answer)
    assert "The end." in shown
    assert all(f"option {i} " in shown for i in range(40))
    assert len(answer) >= 3  # split as without canvases
    assert "/docs/" not in str([m.blocks for m in fake_slack.thread("C1", root)])
    run_id = (await world.deps.store.recent_runs(limit=1))[0].run_id
    assert await world.deps.store.canvas_of(run_id) is None  # nothing for a Retry to edit


def _answers(call: CallInfo) -> Reply:
    return Reply(text=long_answer(8_000) + f"\n\nAnswer number {call.index + 1}.")


@pytest.mark.slow
async def test_a_retry_updates_the_same_canvas_and_says_so(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500))
    fake_claude.respond("integrator", _answers)
    await world.command("compare the options", user="U42")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: len(linking(fake_slack, root)) == 1, within=60)
    await eventually(lambda: not world.deps.runs.running, within=30)
    plan = fake_slack.thread("C1", root)[1]
    assert f"{RETRY_ACTION}:s2" in str(plan.blocks)
    run_id = (await world.deps.store.recent_runs(limit=1))[0].run_id
    fake_claude.clear_faults()
    await world.click(
        f"{RETRY_ACTION}:s2", f"{run_id}:s2", message_ts=plan.ts, thread_ts=root, user="U42"
    )
    await eventually(lambda: len(linking(fake_slack, root)) == 2, within=60)
    await eventually(lambda: not world.deps.runs.running, within=30)

    [canvas] = fake_slack.canvases.values()
    assert "Answer number 2." in canvas.markdown
    assert "Answer number 1." not in canvas.markdown
    first, second = linking(fake_slack, root)
    link = fake_slack.canvas_link(canvas.canvas_id)
    assert link in str(first.blocks)
    assert link in str(second.blocks)
    assert "(updated)" in second.visible_text()
    assert [c.method for c in fake_slack.calls].count("canvases.create") == 1
    runs = await world.deps.store.recent_runs(limit=2)
    assert {r.parent_run_id for r in runs} == {None, run_id}
    assert {await world.deps.store.canvas_of(r.run_id) for r in runs} == {canvas.canvas_id}
