"""The deadline across a restart (issue 22.1): a run's working time is kept with it, so a
run resumed after SIGKILL or SIGTERM goes on from the time already spent and reaches its
deadline sooner than a fresh one would; the answer comes from what was done, the subtask
still hanging is cut at the deadline. The real `python -m bot` over HTTP, against both
fakes, with a SQLite store on disk."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.store import RunStore
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import bot_env, free_port
from tests.faults.conftest import eventually, thread_text
from tests.faults.test_restarts import SECRET, Bot, aspect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEADLINE_S = 10.0
SPENT_S = 5.0  # working time the first process spends before it stops


@pytest.fixture
async def deadline_bots(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> AsyncIterator[Callable[[], Bot]]:
    """Bots with a 10 s deadline sharing one database file, one at a time."""
    started: list[Bot] = []

    def new_bot() -> Bot:
        port = free_port()
        env = bot_env(
            SLACK_BOT_TOKEN=fake_slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.api_url,
            ANTHROPIC_API_KEY=fake_claude.api_key,
            ANTHROPIC_BASE_URL=fake_claude.base_url,
            PORT=str(port),
            ORCHESTRA_DATABASE_URL=f"sqlite:///{tmp_path / 'orchestra.db'}",
            ORCHESTRA_SHUTDOWN_TIMEOUT_S="10",
            ORCHESTRA_UPDATE_INTERVAL_S="0.2",
            ORCHESTRA_RUN_DEADLINE_S=str(DEADLINE_S),
        )
        bot = Bot(env, port)
        started.append(bot)
        return bot

    yield new_bot
    for bot in started:
        await bot.kill_quietly()


async def stored_work_s(database: Path) -> float:
    store = await RunStore.open(f"sqlite:///{database}")
    try:
        runs = await store.recent_runs(limit=2)
        assert len(runs) == 1, runs
        return runs[0].work_s
    finally:
        await store.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
async def test_a_resumed_run_keeps_its_working_time_and_reaches_the_deadline_sooner(
    deadline_bots: Callable[[], Bot],
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    tmp_path: Path,
    sig: signal.Signals,
) -> None:
    # Subtasks 1 and 2 answer at once; subtask 3 hangs in both processes.
    fake_claude.respond(
        "subagent",
        lambda call: Reply(text=f"Result {aspect(call)}.", latency=600 if aspect(call) == 3 else 0),
    )
    first = deadline_bots()
    await first.start()
    await first.command("compare tides", channel="C1")
    database = tmp_path / "orchestra.db"

    async def spent() -> float:
        return await stored_work_s(database) if database.exists() else 0.0

    async with asyncio.timeout(DEADLINE_S):
        while await spent() < SPENT_S - 1:  # noqa: ASYNC110 - another process's state
            await asyncio.sleep(0.1)
    await first.stop(sig)
    kept = await spent()
    assert kept >= SPENT_S - 1  # what the first process worked is kept

    second = deadline_bots()
    await second.start()
    resumed = time.monotonic()

    def answered() -> bool:
        roots = fake_slack.channel_messages("C1")
        return bool(roots) and "tokens in" in thread_text(fake_slack.thread("C1", roots[0].ts))

    await eventually(answered, within=DEADLINE_S + 5)
    took = time.monotonic() - resumed
    # A fresh deadline would take 10 s; the rest of this one takes about 10 - kept.
    assert took < DEADLINE_S - kept + 3, f"{took:.1f}s after resuming, {kept:.1f}s kept"
    text = thread_text(fake_slack.thread("C1", fake_slack.channel_messages("C1")[0].ts))
    assert "cut at the deadline" in text
    assert "Resumed after a restart" in text
    assert len(fake_claude.calls_for("integrator")) == 1
    assert await spent() >= DEADLINE_S  # the whole deadline, over both processes
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]
