"""Redis losing its keys (a restart without persistence, FLUSHDB, a failover) does not lose
the caps: the live-run and per-person counts are rebuilt from the run store. Two replicas of
the real app on one PostgreSQL and a Redis database of the test's own (it is flushed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.coordination import RedisLink, redis_coordination
from bot.store import RunStore
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.coordination.test_replicas import fake_claude, fake_slack, replica
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

__all__ = ["fake_claude", "fake_slack"]  # fixtures, used by name

CAP = 2  # live runs in the workspace, and runs a person may have


@pytest.fixture
async def capped_pair(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, postgres_url: str, redis_db_url: str
) -> AsyncIterator[tuple[World, World]]:
    """Replicas a and b, both capped at `CAP`, on one store and one Redis database."""
    stores = [await RunStore.open(postgres_url), await RunStore.open(postgres_url)]
    links = [RedisLink.from_url(redis_db_url), RedisLink.from_url(redis_db_url)]
    caps = {"max_live": CAP, "max_per_user": CAP}
    try:
        async with (
            replica(
                fake_slack, fake_claude, stores[0], redis_coordination(links[0], stores[0]), **caps
            ) as a,
            replica(
                fake_slack, fake_claude, stores[1], redis_coordination(links[1], stores[1]), **caps
            ) as b,
        ):
            yield a, b
    finally:
        for link in links:
            await link.close()
        for store in stores:
            await store.close()


@pytest.mark.slow
async def test_a_flushed_redis_keeps_the_live_and_per_person_caps(
    capped_pair: tuple[World, World],
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    redis_db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = capped_pair
    release = asyncio.Event()

    async def subagent(call: CallInfo) -> Reply:
        await release.wait()  # the runs stay live until the test lets them end
        return Reply(text="Findings.")

    fake_claude.respond("subagent", subagent)
    for channel in ("C1", "C2"):
        await a.command(f"first person's question in {channel}", user="U1", channel=channel)
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 6)  # 2 runs x 3

    admin = Redis.from_url(redis_db_url)
    try:
        await admin.flushdb()
    finally:
        await admin.aclose()

    await b.command("first person's third question", user="U1", channel="C3")
    await eventually(lambda: any("the limit per person" in str(r) for r in fake_slack.responses))
    for channel in ("C4", "C5"):
        await b.command(f"second person's question in {channel}", user="U2", channel=channel)

    def queued(channel: str) -> bool:
        messages = fake_slack.channel_messages(channel)
        return bool(messages) and "Queued" in thread_text(
            fake_slack.thread(channel, messages[0].ts)
        )

    await eventually(lambda: queued("C4") and queued("C5"))
    assert not fake_slack.channel_messages("C3")  # refused: it never started
    assert len(fake_claude.calls_for("subagent")) == 6  # still only the first two runs
    assert any("rebuilt them from the run store" in r.getMessage() for r in caplog.records)

    release.set()  # the first runs end; the queued ones start in turn and finish

    def answered(channel: str) -> bool:
        root = fake_slack.channel_messages(channel)[0].ts
        return "tokens in" in thread_text(fake_slack.thread(channel, root))

    await eventually(lambda: answered("C4") and answered("C5"), within=20)
    # Their plans' last edits trail the answers, paced by Slack's shared limits: on a loaded
    # machine that took longer than the default 10 s once.
    await eventually(lambda: not a.deps.runs.running and not b.deps.runs.running, within=20)
    assert len(fake_claude.calls_for("orchestrator")) == 4
