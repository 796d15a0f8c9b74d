"""End to end under Slack's strict rate limits: what people wait for goes first.

Answers go ahead of other runs' posts waiting in the same channel, and one person's pile of
requests does not hold back another person's. Asserted on the order of the fake Slack's
recorded calls (and relative to when the fake Claude finished), not on tight wall-clock
numbers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack, RecordedCall
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
async def strict_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """The app with room for many runs per person, against a Slack that enforces its limits."""
    fake_slack.strict_rate_limits = True
    settings = world_settings(
        fake_slack, max_live_runs=500, max_runs_per_user=100, shutdown_timeout_s=2
    )
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
    await client.close()


def posts(slack: FakeSlack, channel: str) -> list[RecordedCall]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and c.response.get("ok")
    ]


def answer_post(slack: FakeSlack, channel: str, thread_ts: str) -> RecordedCall | None:
    return next(
        (
            c
            for c in posts(slack, channel)
            if c.args.get("thread_ts") == thread_ts
            and "Integrated answer" in str(c.args.get("text"))
        ),
        None,
    )


@pytest.mark.slow
async def test_answers_go_ahead_of_other_runs_posts_waiting_in_their_channels(
    strict_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    channels = [f"C{i:02d}" for i in range(20)]
    others = 5  # people starting runs in each channel while its answer is being written
    release = asyncio.Event()

    async def integrator(call: CallInfo) -> Reply:
        await release.wait()  # every answer is finished at the same moment
        return Reply(text="Integrated answer from the fake.")

    def orchestrator(call: CallInfo) -> Reply:
        # The other runs stay in planning: the only posts they add are their root and plan.
        slow = "busy question" in call.user_text
        return Reply(json=simple_plan("goal"), latency=20 if slow else 0)

    fake_claude.respond("integrator", integrator)
    fake_claude.respond("orchestrator", orchestrator)
    for i, channel in enumerate(channels):
        await strict_world.command(f"answered question {i:02d}", user=f"U{i:02d}", channel=channel)
    await eventually(lambda: len(fake_claude.calls_for("integrator")) == len(channels), within=15)
    roots = {channel: posts(fake_slack, channel)[0] for channel in channels}
    await asyncio.gather(
        *(
            strict_world.command(f"busy question {i}-{k}", user=f"V{i:02d}{k}", channel=channel)
            for i, channel in enumerate(channels)
            for k in range(others)
        )
    )
    pacer = strict_world.deps.io.pacer
    # Each channel's burst is spent and the rest of its new roots and plans wait their turn.
    await eventually(
        lambda: all(pacer.waiting("chat.postMessage", c) >= 4 for c in channels), within=10
    )
    released = time.monotonic()
    release.set()

    def all_answered() -> bool:
        return all(answer_post(fake_slack, c, roots[c].response["ts"]) for c in channels)

    await eventually(all_answered, within=15)
    for i, channel in enumerate(channels):
        answer = answer_post(fake_slack, channel, roots[channel].response["ts"])
        assert answer is not None
        done = next(
            c.finished_at
            for c in fake_claude.calls_for("integrator")
            if f"answered question {i:02d}" in str(c.body["messages"])
        )
        # Within about one post slot of Claude finishing it, though several posts were
        # waiting in its channel before it (first come, first served took ~5 s or more).
        assert answer.at - done < 2.0, channel
        # At least four posts were waiting in the channel when Claude finished; the answer
        # went ahead of them (first come, first served posted all of them first).
        since_release = [c for c in posts(fake_slack, channel) if released <= c.at < answer.at]
        assert len(since_release) <= 1, channel
    assert fake_slack.rate_limited_count == 0


async def test_another_persons_request_is_not_held_back_by_one_persons_pile(
    strict_world: World, fake_slack: FakeSlack
) -> None:
    for i in range(20):
        await strict_world.command(f"spam question {i}", user="USPAM")
    await strict_world.command("my one question", user="UOTHER")

    def other_root() -> RecordedCall | None:
        return next(
            (
                c
                for c in posts(fake_slack, "C1")
                if c.args.get("thread_ts") is None and "my one question" in str(c.args.get("text"))
            ),
            None,
        )

    await eventually(lambda: other_root() is not None, within=8)
    root = other_root()
    assert root is not None
    before = posts(fake_slack, "C1")[: posts(fake_slack, "C1").index(root)]
    # The first person's burst and a turn or two of theirs went first, while most of their
    # twenty roots (and twenty plans) still waited: first come, first served put it last.
    spam_roots_before = [
        c for c in before if c.args.get("thread_ts") is None and "spam" in str(c.args.get("text"))
    ]
    assert len(before) <= 5
    assert len(spam_roots_before) <= 4
    assert fake_slack.rate_limited_count == 0
