"""End to end: Full output posts a subtask's output once, whoever clicks, however often, also
after a restart; later clicks are pointed to it; and the posts clicks ask for take turns with
other people's new runs instead of going ahead of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.render import notes
from bot.render.messages import OUTPUT_ACTION
from bot.serving.startup import open_store
from bot.slack.pacing import DEFAULT_LIMITS, Limit, Pacer
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack, RecordedCall
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

CLICKS = 12  # (ephemeral replies are paced: Tier 4, a burst of 10)


async def _finished_run(world: World, slack: FakeSlack) -> tuple[str, str, str]:
    """U5's run in C1, finished: (its run id, its thread, its plan message)."""
    await world.command("a question", user="U5")
    await eventually(lambda: bool(slack.channel_messages("C1")))
    root = slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)
    [stored] = await world.deps.store.recent_runs(channel="C1")
    return stored.run_id, root, slack.thread("C1", root)[1].ts


async def test_full_output_after_a_restart_is_posted_once_and_later_clicks_point_to_it(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig, tmp_path: Path
) -> None:
    store = await open_store(f"sqlite:///{tmp_path}/orchestra.db")
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    try:
        async with running_world(fake_slack, AnthropicLLM(client), config, store=store) as first:
            run_id, root, plan_ts = await _finished_run(first, fake_slack)
        # A restart: the new process knows the run from the store alone.
        async with running_world(fake_slack, AnthropicLLM(client), config, store=store) as again:
            await asyncio.gather(
                *(
                    again.click(
                        f"{OUTPUT_ACTION}:s1",
                        f"{run_id}:s1",
                        message_ts=plan_ts,
                        thread_ts=root,
                        user="U6",
                    )
                    for _ in range(CLICKS)
                )
            )
            await eventually(lambda: len(fake_slack.ephemerals) == CLICKS - 1)
            await eventually(
                lambda: "Full output of s1" in thread_text(fake_slack.thread("C1", root))
            )
            [posted] = [
                m for m in fake_slack.thread("C1", root) if "Full output of s1" in m.visible_text()
            ]
            # One click more, once it has landed: pointed to the message itself.
            await again.click(
                f"{OUTPUT_ACTION}:s1", f"{run_id}:s1", message_ts=plan_ts, thread_ts=root, user="U7"
            )
            await eventually(lambda: any(e.user == "U7" for e in fake_slack.ephemerals))
    finally:
        await store.close()
        await client.close()
    told = {e.text for e in fake_slack.ephemerals}
    link = f"p{posted.ts.replace('.', '')}?thread_ts={root}"
    pointed = next(e.text for e in fake_slack.ephemerals if e.user == "U7")
    assert pointed.startswith("That output is already in this thread:")
    assert link in pointed
    assert told <= {notes.OUTPUT_POSTING, pointed}
    assert thread_text(fake_slack.thread("C1", root)).count("Full output of s1") == 1


@pytest.fixture
async def busy_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """Posts paced at 5 a second in a channel with no burst: the posts waiting form a queue."""
    limits = {**DEFAULT_LIMITS, "chat.postMessage": Limit(per_second=5, burst=1)}
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, max_runs_per_user=10)
    async with running_world(
        fake_slack, AnthropicLLM(client), config, settings, pacer=Pacer(limits)
    ) as world:
        yield world
    await client.close()


def _posts(slack: FakeSlack) -> list[RecordedCall]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == "C1" and c.response.get("ok")
    ]


async def test_full_output_clicks_take_turns_with_another_persons_new_run(
    busy_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    long = "\n\n".join(f"Finding {p}: " + "detail " * 60 for p in range(100))  # 4 messages
    fake_claude.respond("subagent", lambda call: Reply(text=long))
    run_id, root, plan_ts = await _finished_run(busy_world, fake_slack)
    for sub in ("s1", "s2", "s3"):
        await busy_world.click(
            f"{OUTPUT_ACTION}:{sub}",
            f"{run_id}:{sub}",
            message_ts=plan_ts,
            thread_ts=root,
            user="U6",
        )
    pacer = busy_world.deps.io.pacer
    # Each output's messages go one after another: one post of each waits at a time.
    await eventually(lambda: pacer.waiting("chat.postMessage", "C1") == 3)
    asked = len(_posts(fake_slack))
    await busy_world.command("my one question", user="U7")

    def other_root() -> int | None:
        posts = _posts(fake_slack)
        return next(
            (i for i, c in enumerate(posts) if "my one question" in str(c.args.get("text"))), None
        )

    await eventually(lambda: other_root() is not None)
    await eventually(
        lambda: thread_text(fake_slack.thread("C1", root)).count("Full output of") == 3
    )
    at = other_root()
    assert at is not None
    # The outputs' posts still waiting took turns with it: at most the one under way and one
    # more went first (going ahead of everything, all of them did).
    assert at - asked <= 2
    assert len(_posts(fake_slack)) - at > 3  # several output posts were still waiting
