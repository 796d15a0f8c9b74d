"""A double-click whose two clicks reach two replicas still starts one run: the press is
claimed where every replica looks (Redis, and the run store behind it)."""

from __future__ import annotations

import asyncio

import pytest

from bot.render import notes
from bot.render.messages import OUTPUT_ACTION, RERUN_ACTION
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.coordination.test_replicas import fake_claude, fake_slack, pair
from tests.e2e.conftest import eventually, thread_text

__all__ = ["fake_claude", "fake_slack", "pair"]  # fixtures, used by name


@pytest.mark.slow
async def test_a_double_click_reaching_both_replicas_starts_one_run(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b = pair
    await a.command("once more", user="U5")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not a.deps.runs.running)
    [stored] = await a.deps.store.recent_runs(channel="C1")
    plan = fake_slack.thread("C1", root)[1]

    async def press(replica: World) -> None:
        await replica.click(
            RERUN_ACTION, stored.run_id, message_ts=plan.ts, thread_ts=root, user="U5"
        )

    first = asyncio.create_task(press(a))
    await asyncio.sleep(0.05)  # the second click of the double-click, on the other replica
    await asyncio.gather(first, press(b))

    await eventually(lambda: thread_text(fake_slack.thread("C1", root)).count("tokens in") == 2)
    await eventually(lambda: not a.deps.runs.running and not b.deps.runs.running)
    children = [r for r in await a.deps.store.recent_runs(channel="C1") if r.parent_run_id]
    assert len(children) == 1
    assert len(fake_claude.calls_for("orchestrator")) == 2
    assert [e.text for e in fake_slack.ephemerals if e.user == "U5"] == [notes.PRESSED_ALREADY]


@pytest.mark.slow
async def test_full_output_clicked_on_both_replicas_at_once_is_posted_once(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b = pair
    await a.command("once more", user="U5")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not a.deps.runs.running)
    [stored] = await a.deps.store.recent_runs(channel="C1")
    plan = fake_slack.thread("C1", root)[1]
    await asyncio.gather(
        *(
            replica.click(
                f"{OUTPUT_ACTION}:s1",
                f"{stored.run_id}:s1",
                message_ts=plan.ts,
                thread_ts=root,
                user="U6",
            )
            for replica in (a, b, a, b)
        )
    )
    await eventually(lambda: len(fake_slack.ephemerals) == 3)
    await eventually(lambda: "Full output of s1" in thread_text(fake_slack.thread("C1", root)))
    assert thread_text(fake_slack.thread("C1", root)).count("Full output of s1") == 1
