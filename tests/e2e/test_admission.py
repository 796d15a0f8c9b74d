"""Fair share through the real app: the per-person limit, the live-run cap and its queue."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.render.messages import CANCEL_ACTION
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, RecordedCall, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

_TAG = re.compile(r"\[run-(\d+)\]")


@pytest.fixture
def start_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> Callable[..., contextlib.AbstractAsyncContextManager[World]]:
    """A world with these settings, its runs' calls tagged with their goal's `[run-n]`."""

    def plan_for(call: CallInfo) -> Reply:
        tag = _TAG.search(call.user_text)
        plan = simple_plan("goal")
        for task in plan["subtasks"]:
            task["input"] = f"{task['input']} {tag.group(0) if tag else ''}"
        return Reply(json=plan)

    fake_claude.respond("orchestrator", plan_for)

    @contextlib.asynccontextmanager
    async def start(**changes: Any) -> AsyncIterator[World]:
        client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
        settings = world_settings(fake_slack, update_interval_s=0.05, **changes)
        try:
            async with running_world(fake_slack, AnthropicLLM(client), config, settings) as w:
                yield w
        finally:
            await client.close()

    return start


def _run_of(call: RecordedCall) -> str:
    found = _TAG.search(str(call.body.get("messages")))
    return found.group(1) if found else "?"


def most_runs_calling_at_once(claude: FakeAnthropic) -> int:
    """The most runs with a Claude call in flight at the same moment (from the fake's log)."""
    moments = []
    for call in claude.calls:
        moments += [(call.started_at, 1, _run_of(call)), (call.finished_at, -1, _run_of(call))]
    in_flight: dict[str, int] = {}
    peak = 0
    for _, step, run in sorted(moments, key=lambda m: (m[0], m[1])):
        in_flight[run] = in_flight.get(run, 0) + step
        peak = max(peak, sum(1 for n in in_flight.values() if n > 0))
    return peak


@pytest.mark.slow
async def test_a_person_past_the_limit_is_refused_privately_and_others_start_at_once(
    start_world: Callable[..., contextlib.AbstractAsyncContextManager[World]],
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=2))
    async with start_world(max_runs_per_user=2) as world:
        acks = [await world.command_ack(f"[run-{n}] question", user="U1") for n in range(6)]
        await world.command("[run-9] my own question", user="U2")
        await eventually(lambda: len(fake_slack.channel_messages("C1")) == 3)
        roots = [m.visible_text() for m in fake_slack.channel_messages("C1")]
        assert sum("<@U1>" in r for r in roots) == 2
        assert any("<@U2>" in r for r in roots)  # not held back by U1's requests
        # The four refusals were private (the command's own ack), naming the limit.
        refusals = [text for text in acks if "limit" in text]
        assert len(refusals) == 4
        assert "You already have 2 runs going (" in refusals[0]
        assert "the limit per person is 2" in refusals[0]
        # Once their roots are posted, a refusal links the person's runs (before that it can
        # only say they are still starting: on a busy machine, every one of the four above).
        again = await world.command_ack("[run-7] one more question", user="U1")
        assert "the limit per person is 2" in again
        assert "/archives/C1/p" in again
        await eventually(lambda: not world.deps.runs.running, within=20)
        orchestrated = {
            _TAG.search(c.body["messages"][0]["content"])
            for c in fake_claude.calls_for("orchestrator")
        }
        assert len(orchestrated) == 3  # two of U1's, one of U2's; no Claude call for the rest


@pytest.mark.slow
async def test_past_the_live_cap_runs_queue_visibly_and_all_are_answered(
    start_world: Callable[..., contextlib.AbstractAsyncContextManager[World]],
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="Found it.", latency=0.5))
    channels = [f"C{n}" for n in range(8)]
    async with start_world(max_live_runs=3) as world:
        for n, channel in enumerate(channels):
            await world.command(f"[run-{n}] question", user=f"U{n}", channel=channel)

        def said_queued(channel: str) -> bool:
            roots = fake_slack.channel_messages(channel)
            return bool(roots) and "Queued" in "".join(
                m.visible_text() + str(m.edited) for m in fake_slack.thread(channel, roots[0].ts)
            )

        await eventually(lambda: sum(said_queued(c) for c in channels) >= 5)

        def answered(channel: str) -> bool:
            roots = fake_slack.channel_messages(channel)
            return bool(roots) and "tokens in" in thread_text(
                fake_slack.thread(channel, roots[0].ts)
            )

        await eventually(lambda: all(answered(c) for c in channels), within=30)
    assert most_runs_calling_at_once(fake_claude) <= 3
    assert most_runs_calling_at_once(fake_claude) >= 2  # the cap, not a queue of one


async def test_a_queued_run_can_be_cancelled_and_never_calls_claude(
    start_world: Callable[..., contextlib.AbstractAsyncContextManager[World]],
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=30))
    async with start_world(max_live_runs=1) as world:
        await world.command("[run-1] first", user="U1", channel="C1")
        await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
        await world.command("[run-2] second", user="U2", channel="C2")
        await eventually(lambda: any(r.queued_ahead == 0 for r in world.deps.runs.running))
        queued = next(r for r in world.deps.runs.running if r.channel == "C2")
        # The plan message shows in the fake before the app has its ts back from the post:
        # the click needs that ts (a click on another message is refused).
        await eventually(
            lambda: (
                queued.plan_ts is not None
                and "Queued" in thread_text(fake_slack.thread("C2", str(queued.thread_ts)))
            )
        )
        await world.click(
            CANCEL_ACTION,
            queued.run_id,
            message_ts=str(queued.plan_ts),
            thread_ts=queued.thread_ts,
            user="U2",
            channel="C2",
        )
        await eventually(
            lambda: (
                "Cancelled by <@U2>" in thread_text(fake_slack.thread("C2", str(queued.thread_ts)))
            )
        )
        assert not any("[run-2]" in str(c.body["messages"]) for c in fake_claude.calls)
        # Cancelled before its pipeline ran: the plan still ends, without a Cancel button.
        await eventually(lambda: not any(r.channel == "C2" for r in world.deps.runs.running))
        plan = fake_slack.find("C2", str(queued.plan_ts))
        assert plan is not None
        assert CANCEL_ACTION not in str(plan.blocks)
        assert "Cancelled." in plan.visible_text()
        assert world.deps.runs.admission.waiting_count == 0
