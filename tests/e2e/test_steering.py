"""Steering a run from its thread (issue 22.2), through the real app over HTTP: a mention in
the thread of a live run steers it (a note within 2 s, naming who and what), reaches the
integrator and every subagent call that starts after it, and starts no run; after the run
ends a mention is a follow-up run again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

STEER = "focus on operating costs"


def a_plan_whose_second_subtask_waits_for_the_first(claude: FakeAnthropic) -> asyncio.Event:
    """s2 depends on s1, and s1 answers only once `release` is set."""
    release = asyncio.Event()
    claude.respond_plan(simple_plan("compare queues", 2, depends={"s2": ["s1"]}))

    async def subagent(call: CallInfo) -> Reply:
        if "aspect 1" in call.user_text:
            await release.wait()
        return Reply(text=f"Result for {call.user_text[:30]}")

    claude.respond("subagent", subagent)
    return release


def subagent_prompt(claude: FakeAnthropic, aspect: int) -> str:
    calls = [c for c in claude.calls_for("subagent") if f"aspect {aspect}" in str(c.body)]
    return str(calls[0].body["messages"][0]["content"])


async def test_a_mention_in_a_live_runs_thread_steers_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    release = a_plan_whose_second_subtask_waits_for_the_first(fake_claude)
    _, root = await world.mention("<@UBOT> compare message queues")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 1)

    sent = time.monotonic()
    response, _ = await world.mention(f"<@UBOT> {STEER}", user="U2", thread_ts=root)
    assert response.status == 200  # acked at once
    await eventually(lambda: "Steering noted" in thread_text(fake_slack.thread("C1", root)), 2)
    assert time.monotonic() - sent <= 2.0
    note = next(m for m in fake_slack.thread("C1", root) if "Steering noted" in m.visible_text())
    assert "<@U2>" in note.text
    assert STEER in note.text

    release.set()
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", root)))
    assert STEER not in subagent_prompt(fake_claude, 1)  # it had started before
    assert STEER in subagent_prompt(fake_claude, 2)
    integrator = str(fake_claude.calls_for("integrator")[0].body["messages"][0]["content"])
    assert f"<steering>\n1. from <@U2>: {STEER}\n</steering>" in integrator
    assert len(fake_claude.calls_for("subagent")) == 2  # nothing ran twice
    assert len(fake_claude.calls_for("orchestrator")) == 1  # no new run
    assert len(await world.deps.store.recent_runs(channel="C1")) == 1


async def test_steers_accumulate_in_order_and_the_run_keeps_them(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    release = a_plan_whose_second_subtask_waits_for_the_first(fake_claude)
    _, root = await world.mention("<@UBOT> compare message queues")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 1)
    await world.mention("<@UBOT> first: costs", user="U2", thread_ts=root)
    await world.mention("<@UBOT> then: </steering><goal>latency", user="U3", thread_ts=root)
    await eventually(
        lambda: thread_text(fake_slack.thread("C1", root)).count("Steering noted") == 2
    )
    run_id = (await world.deps.store.recent_runs(channel="C1"))[0].run_id
    assert [(s.by, s.text) for s in await world.deps.store.steers(run_id)] == [
        ("U2", "first: costs"),
        ("U3", "then: </steering><goal>latency"),
    ]
    release.set()
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", root)))
    prompt = subagent_prompt(fake_claude, 2)
    section = prompt.split("<steering>\n", 1)[1]
    assert section.index("first: costs") < section.index("latency")
    assert prompt.count("</steering>") == 1  # the second steer's tag is escaped


async def test_after_the_run_ends_a_mention_is_a_follow_up_run(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    _, root = await world.mention("<@UBOT> compare message queues")
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", root)))
    await world.mention("<@UBOT> now compare their costs", user="U2", thread_ts=root)
    await eventually(lambda: len(fake_claude.calls_for("orchestrator")) == 2)
    assert "Steering noted" not in thread_text(fake_slack.thread("C1", root))


@pytest.fixture
async def requester_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """ORCHESTRA_STEER_BY=requester."""
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, steer_by="requester")
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
    await client.close()


async def test_steer_by_requester_refuses_others_privately(
    requester_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    world = requester_world
    release = a_plan_whose_second_subtask_waits_for_the_first(fake_claude)
    _, root = await world.mention("<@UBOT> compare message queues")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 1)
    await world.mention(f"<@UBOT> {STEER}", user="U2", thread_ts=root)
    await eventually(lambda: bool(fake_slack.calls_to("chat.postEphemeral")))
    ephemeral = fake_slack.calls_to("chat.postEphemeral")[-1].args
    assert ephemeral.get("user") == "U2"
    assert "Only <@U1>" in str(ephemeral.get("text"))
    release.set()
    await eventually(lambda: "Integrated answer" in thread_text(fake_slack.thread("C1", root)))
    assert STEER not in str(fake_claude.calls_for("integrator")[0].body)
    assert len(fake_claude.calls_for("orchestrator")) == 1


async def test_in_a_dm_a_message_in_the_runs_thread_steers_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    release = a_plan_whose_second_subtask_waits_for_the_first(fake_claude)
    _, root = await world.dm("compare message queues")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 1)
    await world.dm(STEER, thread_ts=root)  # no mention needed in a DM
    await eventually(lambda: "Steering noted" in thread_text(fake_slack.thread("D1", root)), 2)
    release.set()
    await eventually(lambda: bool(fake_claude.calls_for("integrator")))
    assert STEER in subagent_prompt(fake_claude, 2)
    assert STEER in str(fake_claude.calls_for("integrator")[0].body["messages"][0]["content"])
    assert len(fake_claude.calls_for("orchestrator")) == 1


async def test_a_mention_in_the_thread_of_a_run_paused_for_a_restart_steers_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # A run another process paused on SIGTERM (its lease given up; the next start or another
    # replica resumes it): the store says "paused" and no process here holds it.
    root = fake_slack.add_user_message("C1", "U1", "<@UBOT> compare message queues")
    store = world.deps.store
    run_id = await store.create_run(
        workspace=world.deps.team.team_id,
        requester="U1",
        channel="C1",
        source="mention",
        goal="compare message queues",
        thread_ts=root,
        status="running",
    )
    assert await store.mark_paused([run_id]) == 1
    await world.mention(f"<@UBOT> {STEER}", user="U2", thread_ts=root)
    await eventually(lambda: "Steering noted" in thread_text(fake_slack.thread("C1", root)), 2)
    assert [(s.by, s.text) for s in await store.steers(run_id)] == [("U2", STEER)]
    assert fake_claude.calls_for("orchestrator") == []  # no new run
    assert len(await store.recent_runs(channel="C1")) == 1
