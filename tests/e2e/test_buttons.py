"""Buttons are bound to their run's own message, and Retry / Re-run work through the store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.render.messages import CANCEL_ACTION, OUTPUT_ACTION, RERUN_ACTION, RETRY_ACTION
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


@pytest.fixture
async def anyone_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """A world where anyone may press Cancel (the setting that made forged clicks matter)."""
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, cancel_by="anyone")
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
    await client.close()


def root_of(slack: FakeSlack, channel: str = "C1") -> str:
    return slack.channel_messages(channel)[0].ts


async def _slow_run(world: World, claude: FakeAnthropic) -> tuple[str, str, str]:
    claude.respond("subagent", lambda c: Reply(text="slow", latency=30))
    await world.command("a slow one", user="U5")
    await eventually(lambda: len(claude.calls_for("subagent")) == 3)
    run = world.deps.runs.running[0]
    assert run.plan_ts is not None
    return run.run_id, root_of(world.slack), run.plan_ts


@pytest.mark.parametrize("where", ["another channel", "another message"])
async def test_a_cancel_from_elsewhere_is_refused_and_the_run_goes_on(
    anyone_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, where: str
) -> None:
    world = anyone_world
    run_id, root, plan_ts = await _slow_run(world, fake_claude)
    other = fake_slack.add_user_message("C2", "U6", "my own message")
    if where == "another channel":
        click = {"message_ts": other, "thread_ts": None, "channel": "C2"}
    else:
        click = {"message_ts": root, "thread_ts": None, "channel": "C1"}
    response = await world.click(CANCEL_ACTION, run_id, user="U6", **click)  # type: ignore[arg-type]
    assert response.status == 200
    await eventually(lambda: any(e.user == "U6" for e in fake_slack.ephemerals))
    told = [e.text for e in fake_slack.ephemerals if e.user == "U6"]
    assert "does not belong" in told[-1]
    assert world.deps.runs.is_running(run_id)
    # The same click on the run's own plan message is honoured (anyone may cancel here).
    await world.click(CANCEL_ACTION, run_id, message_ts=plan_ts, thread_ts=root, user="U6")
    await eventually(lambda: "Cancelled by <@U6>" in thread_text(fake_slack.thread("C1", root)))


async def test_full_output_from_another_channel_is_refused(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    await world.command("quick one", user="U5")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = root_of(fake_slack)
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    run = world.deps.runs.get(next(iter(world.deps.runs._runs)))
    assert run is not None
    before = len(fake_slack.thread("C1", root))
    await world.click(
        f"{OUTPUT_ACTION}:s1", f"{run.run_id}:s1", message_ts="9.9", thread_ts=None, channel="C2"
    )
    await eventually(lambda: bool(fake_slack.ephemerals))
    assert "does not belong" in fake_slack.ephemerals[-1].text
    assert len(fake_slack.thread("C1", root)) == before
    await world.click(
        f"{OUTPUT_ACTION}:s1", f"{run.run_id}:s1", message_ts=str(run.plan_ts), thread_ts=root
    )
    await eventually(lambda: "Full output of s1" in thread_text(fake_slack.thread("C1", root)))


@pytest.mark.slow
async def test_retry_runs_the_failed_subtask_again_and_posts_a_new_answer(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fault = Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500)
    fake_claude.inject(fault)
    await world.command("partly broken", user="U5")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = root_of(fake_slack)
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)
    plan = fake_slack.thread("C1", root)[1]
    assert f"{RETRY_ACTION}:s2" in str(plan.blocks)
    run_id = next(iter(world.deps.runs._runs))
    fake_claude.clear_faults()
    calls_before = len(fake_claude.calls_for("subagent"))
    # Someone else may not retry another person's run.
    await world.click(
        f"{RETRY_ACTION}:s2", f"{run_id}:s2", message_ts=plan.ts, thread_ts=root, user="U6"
    )
    await eventually(lambda: any(e.user == "U6" for e in fake_slack.ephemerals))
    assert "Only <@U5>" in [e.text for e in fake_slack.ephemerals if e.user == "U6"][-1]
    await world.click(
        f"{RETRY_ACTION}:s2", f"{run_id}:s2", message_ts=plan.ts, thread_ts=root, user="U5"
    )
    await eventually(lambda: thread_text(fake_slack.thread("C1", root)).count("tokens in") == 2)
    retried = fake_claude.calls_for("subagent")[calls_before:]
    assert len(retried) == 1  # only s2: s1 and s3 were reused
    assert "aspect 2" in str(retried[0].body["system"])
    text = thread_text(fake_slack.thread("C1", root))
    assert "asked to retry s2" in text
    assert "3/3 subtasks done" in text
    assert "2/3 subtasks done" in text  # the first answer stays
    stored = await world.deps.store.recent_runs(channel="C1")
    assert {r.parent_run_id for r in stored} == {None, run_id}


@pytest.mark.slow
async def test_rerun_starts_the_run_again_in_its_thread(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    await world.command("once more", user="U5")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = root_of(fake_slack)
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)
    plan = fake_slack.thread("C1", root)[1]
    run_id = next(iter(world.deps.runs._runs))
    assert RERUN_ACTION in str(plan.blocks)
    await world.click(RERUN_ACTION, run_id, message_ts=plan.ts, thread_ts=root, user="U6")
    await eventually(lambda: any(e.user == "U6" for e in fake_slack.ephemerals))
    assert len(fake_claude.calls_for("orchestrator")) == 1
    await world.click(RERUN_ACTION, run_id, message_ts=plan.ts, thread_ts=root, user="U5")
    await eventually(lambda: thread_text(fake_slack.thread("C1", root)).count("tokens in") == 2)
    assert len(fake_claude.calls_for("orchestrator")) == 2
    assert len(fake_slack.channel_messages("C1")) == 1  # the same thread, no new root
