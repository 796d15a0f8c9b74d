"""A deadline that always answers (issue 22.1), through the real app over HTTP against both
fakes: with ORCHESTRA_RUN_DEADLINE_S=10 a subtask that hangs is cut at the deadline and the
others answer within 15 s; the thread says "deadline"; Continue (the requester's) runs only
the cut subtask, done ones are not called again, and an updated answer follows; another
person's Continue is refused privately; the same in a DM; a run with nothing done by the
deadline says so without an integrator call."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.render.messages import CONTINUE_ACTION
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic, Fault, RecordedCall
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world
from tests.e2e.conftest import eventually, thread_text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEADLINE_S = 10.0
ANSWER = "Integrated answer"


@pytest.fixture
def config() -> PipelineConfig:
    # Calls may take longer than the deadline: the deadline, not a call timeout, stops them.
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


def hang(claude: FakeAnthropic, aspect: int = 2, times: int | None = 1) -> Fault:
    """The subagent of `aspect` hangs (its first call only, unless `times` says)."""
    return claude.inject(
        Fault(match=lambda c: f"aspect {aspect}" in c.system_text, times=times, hang=True)
    )


def aspects_called(claude: FakeAnthropic) -> list[int]:
    """Which aspect each subagent request was for, in order."""
    found = []
    for call in claude.calls_for("subagent"):
        found += [n for n in (1, 2, 3) if f"aspect {n}" in _system(call)]
    return found


def _system(call: RecordedCall) -> str:
    system = call.body.get("system", "")
    return str(system)


async def only_run(world: World) -> Any:
    runs = await world.deps.store.recent_runs(limit=5)
    assert len(runs) == 1, runs
    return await world.deps.store.get_run(runs[0].run_id)


async def test_a_hung_subtask_is_cut_at_the_deadline_and_continue_runs_only_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    hang(fake_claude)
    sent = time.monotonic()
    _, root = await world.mention("<@UBOT> compare message queues")
    await eventually(lambda: ANSWER in thread_text(fake_slack.thread("C1", root)), 15)
    assert time.monotonic() - sent <= 15.0
    text = thread_text(fake_slack.thread("C1", root))
    assert "cut at the deadline" in text
    assert "Estimate:" in text  # the plan showed its estimate
    assert len(fake_claude.calls_for("integrator")) == 1
    assert sorted(aspects_called(fake_claude)) == [1, 2, 3]
    await eventually(lambda: not world.deps.runs.running)
    first = await only_run(world)
    assert first.work_s >= DEADLINE_S * 0.9  # the working time it spent is kept

    # Another person's Continue: refused privately, nothing runs.
    await world.click(
        CONTINUE_ACTION, first.run_id, message_ts=first.plan_ts, thread_ts=root, user="U2"
    )
    await eventually(lambda: bool(fake_slack.calls_to("chat.postEphemeral")))
    refusal = fake_slack.calls_to("chat.postEphemeral")[-1].args
    assert refusal.get("user") == "U2"
    assert "<@U1>" in str(refusal.get("text"))

    # The requester's: only the cut subtask runs, and an updated answer follows.
    await world.click(CONTINUE_ACTION, first.run_id, message_ts=first.plan_ts, thread_ts=root)
    await eventually(lambda: len(fake_claude.calls_for("integrator")) == 2, 15)
    await eventually(lambda: thread_text(fake_slack.thread("C1", root)).count(ANSWER) == 2)
    assert sorted(aspects_called(fake_claude)) == [1, 2, 2, 3]  # s1 and s3 not called again
    assert len(fake_claude.calls_for("orchestrator")) == 1
    integrator = str(fake_claude.calls_for("integrator")[-1].body["messages"])
    assert integrator.count("Fake result for") == 3  # all three outputs this time


async def test_nothing_done_by_the_deadline_says_so_without_an_integrator_call(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    for aspect in (1, 2, 3):
        hang(fake_claude, aspect)
    sent = time.monotonic()
    _, root = await world.mention("<@UBOT> compare message queues")
    await eventually(lambda: not world.deps.runs.running and bool(fake_claude.calls), 15)
    assert time.monotonic() - sent <= 15.0
    text = thread_text(fake_slack.thread("C1", root))
    assert "Nothing was done by the deadline" in text
    assert fake_claude.calls_for("integrator") == []


async def test_in_a_dm_the_deadline_answers_and_continue_works(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    hang(fake_claude)
    sent = time.monotonic()
    _, ts = await world.dm("compare message queues")

    def answered(count: int) -> bool:
        streams = fake_slack.streams_in("D1", ts)
        done = [s for s in streams if s.state != "streaming" and ANSWER in s.text]
        return len(done) >= count

    await eventually(lambda: answered(1), 15)
    assert time.monotonic() - sent <= 15.0
    stream = fake_slack.streams_in("D1", ts)[0]
    assert stream.tasks["s2"]["details"] == "cut at the deadline"
    assert "Estimate:" in " ".join(
        str(c.get("title")) for c in stream.chunks if c.get("type") == "plan_update"
    )
    assert "cut at the deadline" in str(stream.blocks)
    buttons = [
        e
        for block in stream.blocks
        if block.get("type") == "actions"
        for e in block.get("elements", [])
        if e.get("action_id") == CONTINUE_ACTION
    ]
    assert len(buttons) == 1
    await eventually(lambda: not world.deps.runs.running)
    first = await only_run(world)

    await world.click(
        CONTINUE_ACTION, first.run_id, message_ts=stream.ts, thread_ts=ts, channel="D1"
    )
    await eventually(lambda: answered(2), 15)
    assert sorted(aspects_called(fake_claude)) == [1, 2, 2, 3]
    assert len(fake_claude.calls_for("orchestrator")) == 1
