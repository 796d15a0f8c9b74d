"""Every way a run starts passes the same intake (`bot.runs.intake`): a person at the
per-person cap on one replica who presses Re-run or Retry on another is refused exactly as a
new request would be, never let through (three replicas in this process on one PostgreSQL
and one real Redis)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from bot.coordination import redis_coordination
from bot.render.messages import RERUN_ACTION, RETRY_ACTION
from bot.store import RunStore
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.coordination.conftest import LinkFactory
from tests.coordination.test_replicas import fake_claude, fake_slack, replica
from tests.e2e.conftest import eventually, thread_text

__all__ = ["fake_claude", "fake_slack"]  # fixtures, used by name

pytestmark = pytest.mark.e2e

CAP = 2  # runs a person may have going, across the workspace


@pytest.fixture
async def trio(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, postgres_url: str, new_link: LinkFactory
) -> AsyncIterator[tuple[World, World, World]]:
    """Replicas a, b and c, each allowing a person `CAP` runs: together they must too."""
    stores = [await RunStore.open(postgres_url) for _ in range(3)]
    try:
        async with contextlib.AsyncExitStack() as stack:
            worlds = [
                await stack.enter_async_context(
                    replica(
                        fake_slack,
                        fake_claude,
                        store,
                        redis_coordination(new_link(), store),
                        max_per_user=CAP,
                    )
                )
                for store in stores
            ]
            yield worlds[0], worlds[1], worlds[2]
    finally:
        for store in stores:
            await store.close()


async def _finished_run(world: World, slack: FakeSlack, channel: str) -> tuple[str, str, str]:
    """A run of U5's in `channel`, finished with subtask s2 failed: (run id, root, plan ts)."""
    await world.command("partly broken", user="U5", channel=channel)
    await eventually(lambda: bool(slack.channel_messages(channel)))
    root = slack.channel_messages(channel)[0].ts
    await eventually(lambda: "tokens in" in thread_text(slack.thread(channel, root)))
    await eventually(lambda: not world.deps.runs.running)
    [summary] = await world.deps.store.recent_runs(channel=channel)
    stored = await world.deps.store.get_run(summary.run_id)
    assert stored is not None
    assert stored.plan_ts is not None
    return stored.run_id, root, stored.plan_ts


@pytest.mark.slow
async def test_rerun_and_retry_on_another_replica_are_held_to_the_cap(
    trio: tuple[World, World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b, c = trio
    fake_claude.inject(Fault(match=lambda x: "aspect 2" in x.system_text, times=None, status=500))
    first, first_root, first_plan = await _finished_run(a, fake_slack, "C1")
    second, second_root, second_plan = await _finished_run(a, fake_slack, "C2")
    fake_claude.clear_faults()
    # U5 now reaches the cap on b.
    fake_claude.respond("subagent", lambda call: Reply(text="slow", latency=30))
    for channel in ("C3", "C4"):
        await b.command("a slow one", user="U5", channel=channel)
    await eventually(lambda: len(b.deps.runs.running) == CAP)
    await eventually(lambda: len(fake_claude.calls_for("orchestrator")) == 2 + CAP)

    # A new request on c is refused: c counts none of U5's runs itself, the workspace does.
    await c.command("one more", user="U5", channel="C5")
    await eventually(lambda: any("limit per person" in str(r) for r in fake_slack.responses))
    await c.click(RERUN_ACTION, first, message_ts=first_plan, thread_ts=first_root, user="U5")
    await c.click(
        f"{RETRY_ACTION}:s2",
        f"{second}:s2",
        message_ts=second_plan,
        thread_ts=second_root,
        user="U5",
        channel="C2",
    )

    def refusals() -> list[str]:
        return [text for _, _, text in fake_slack.ephemeral if "limit per person" in text]

    await eventually(lambda: len(refusals()) == 2)

    assert not c.deps.runs.running
    assert len(fake_claude.calls_for("orchestrator")) == 2 + CAP  # nothing else planned
    assert fake_slack.channel_messages("C5") == []
    for parent in (first, second):
        assert await c.deps.store.unfinished_children(parent) == []
    for run in b.deps.runs.running:
        b.deps.runs.cancel(run.run_id, by="U5")
