"""Plan review's Edit, expiry and DMs (issue 22.3), through the real app over HTTP against
both fakes: Edit opens a modal of every subtask's title and instructions, pre-filled; its
submission runs the edited plan (the fake Claude's requests carry the edited instructions, a
removed subtask is never called); a bad submission is told per field and runs nothing; a plan
nobody approves expires, says so and runs nothing; in a DM a reply carries the buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import simple_plan
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_views import OpenView, initial_values
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

EDITED = "Describe aspect 1, and only its operating costs."


def review_ts(fake_slack: FakeSlack, channel: str, root: str) -> str:
    """The message of the thread that carries Approve and Edit."""
    for message in fake_slack.thread(channel, root):
        if "orchestra_approve" in str(message.blocks):
            return message.ts
    raise AssertionError("no message with Approve in the thread")


async def waiting_plan(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, aspects: int = 3
) -> tuple[str, str, str]:
    """A --review mention whose plan now waits: (root ts, run id, the buttons' message)."""
    fake_claude.respond_plan(simple_plan("compare queues", aspects))
    _, root = await world.mention("<@UBOT> --review compare message queues", user="U1")
    await eventually(lambda: "Waiting for" in thread_text(fake_slack.thread("C1", root)))
    [run] = await world.deps.store.recent_runs(channel="C1")
    return root, run.run_id, review_ts(fake_slack, "C1", root)


async def open_editor(
    world: World, fake_slack: FakeSlack, root: str, run_id: str, plan_ts: str
) -> OpenView:
    await world.click("orchestra_edit", run_id, user="U1", message_ts=plan_ts, thread_ts=root)
    await eventually(lambda: bool(fake_slack.views.open))
    [opened] = fake_slack.views.open.values()
    return opened


async def test_edits_modal_lists_the_subtasks_and_its_submission_runs_the_edited_plan(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    root, run_id, plan_ts = await waiting_plan(world, fake_slack, fake_claude)
    opened = await open_editor(world, fake_slack, root, run_id, plan_ts)
    shown = initial_values(opened.view)
    for n in (1, 2, 3):
        assert shown[f"title:s{n}"] == f"Researcher of aspect {n}"
        assert shown[f"input:s{n}"] == f"Describe aspect {n}."
    assert opened.user == "U1"
    assert fake_claude.calls_for("subagent") == []  # opening the editor approves nothing

    answer = await world.submit_view(
        opened.view_id, {"input:s1": EDITED, "title:s3": "", "input:s3": ""}
    )
    assert answer == {}  # the modal closed
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", root)), 30)
    prompts = [str(c.body["messages"]) for c in fake_claude.calls_for("subagent")]
    assert len(prompts) == 2
    assert any(EDITED in p for p in prompts)
    assert not any("aspect 3" in p for p in prompts)  # removed: never called

    # The plan shows the edited plan: its edits are coalesced and paced behind the answer (by
    # design the answer goes first), so the message may still show the old plan for a moment.
    def plan_text() -> str:
        plan = fake_slack.find("C1", plan_ts)
        assert plan is not None
        return plan.visible_text()

    await eventually(lambda: "Researcher of aspect 2" in plan_text(), 10)
    await eventually(lambda: "aspect 3" not in plan_text(), 10)
    review = await world.deps.store.review_of(run_id)
    assert review is not None
    assert (review.state, review.decided_by, review.edited) == ("approved", "U1", True)


async def test_an_invalid_edit_is_told_per_field_and_runs_nothing(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    root, run_id, plan_ts = await waiting_plan(world, fake_slack, fake_claude, aspects=2)
    opened = await open_editor(world, fake_slack, root, run_id, plan_ts)

    answer = await world.submit_view(opened.view_id, {"title:s1": "ab", "input:s2": "no"})
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"title:s1", "input:s2"}
    assert "3 characters" in answer["errors"]["title:s1"]

    cleared = {"title:s1": "", "input:s1": "", "title:s2": "", "input:s2": ""}
    answer = await world.submit_view(opened.view_id, cleared)
    assert answer["response_action"] == "errors"
    assert "2 to" in next(iter(answer["errors"].values()))  # too few subtasks left

    half_new = {"title:new1": "A third look"}  # a new subtask with a title, no instructions
    answer = await world.submit_view(opened.view_id, half_new)
    assert answer["errors"] == {"input:new1": "A new subtask needs instructions."}
    assert fake_claude.calls_for("subagent") == []
    assert not opened.closed
    review = await world.deps.store.review_of(run_id)
    assert review is not None
    assert review.state == "awaiting"

    added = {"title:new1": "Researcher of aspect 9", "input:new1": "Describe aspect 9."}
    assert await world.submit_view(opened.view_id, added) == {}
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", root)), 30)
    prompts = [str(c.body["messages"]) for c in fake_claude.calls_for("subagent")]
    assert len(prompts) == 3
    assert any("Describe aspect 9." in p for p in prompts)


async def test_someone_elses_edit_is_refused_privately_and_opens_nothing(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    root, run_id, plan_ts = await waiting_plan(world, fake_slack, fake_claude)
    await world.click("orchestra_edit", run_id, user="U2", message_ts=plan_ts, thread_ts=root)
    await eventually(lambda: any("Only <@U1>" in t for t in fake_slack.visible_ephemeral("U2")))
    assert fake_slack.views.open == {}


@pytest.fixture
async def short_review_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """ORCHESTRA_REVIEW_TIMEOUT_S=1."""
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, review_timeout_s=1)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
    await client.close()


async def test_an_unapproved_plan_expires_says_so_and_runs_nothing(
    short_review_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    world = short_review_world
    root, run_id, plan_ts = await waiting_plan(world, fake_slack, fake_claude)
    await eventually(lambda: "expired" in thread_text(fake_slack.thread("C1", root)), 10)
    text = thread_text(fake_slack.thread("C1", root))
    assert "nobody approved it within 1 seconds" in text
    await eventually(lambda: not world.deps.runs.running)
    assert fake_claude.calls_for("subagent") == []
    assert fake_claude.calls_for("integrator") == []
    plan = fake_slack.find("C1", plan_ts)
    assert plan is not None
    assert "orchestra_approve" not in str(plan.blocks)  # nothing left to approve
    review = await world.deps.store.review_of(run_id)
    assert review is not None
    assert review.state == "expired"

    # An Approve after the expiry is told so, privately, and runs nothing.
    await world.click("orchestra_approve", run_id, user="U1", message_ts=plan_ts, thread_ts=root)
    await eventually(lambda: bool(fake_slack.visible_ephemeral("U1")))
    assert fake_claude.calls_for("subagent") == []


async def test_in_a_dm_a_reply_carries_approve_and_the_run_waits_for_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(simple_plan("compare queues", 2))
    _, root = await world.dm("--review compare message queues")
    await eventually(
        lambda: "orchestra_approve" in str([m.blocks for m in fake_slack.thread("D1", root)])
    )
    assert fake_claude.calls_for("subagent") == []
    [run] = await world.deps.store.recent_runs(channel="D1")
    buttons = review_ts(fake_slack, "D1", root)
    await world.click(
        "orchestra_approve", run.run_id, user="U1", channel="D1", message_ts=buttons, thread_ts=root
    )
    await eventually(lambda: len(fake_claude.calls_for("integrator")) == 1)
    assert len(fake_claude.calls_for("subagent")) == 2
    await eventually(lambda: "approved" in thread_text(fake_slack.thread("D1", root)))
