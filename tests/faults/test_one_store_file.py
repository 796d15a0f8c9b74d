"""Two `python -m bot` processes on one SQLite file without Redis (a deploy that starts the
new process before the old one exits): the new one never runs the old one's runs. It waits
for the old one to exit, then resumes what it paused; or, if it does not exit in time, it
stops with one sentence naming it."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import (
    BotProcess,
    bot_env,
    finish,
    free_port,
    start_bot,
    wait_healthy,
)
from tests.faults.conftest import eventually, thread_text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "one-file-secret"


@pytest.fixture
async def processes() -> AsyncIterator[list[BotProcess]]:
    """Every process a test started; killed at its end if still running."""
    started: list[BotProcess] = []
    yield started
    for process in started:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.fixture
def env(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> Callable[..., dict[str, str]]:
    """The environment of one process on the test's SQLite file, on a port of its own."""

    def make(**values: str) -> dict[str, str]:
        return bot_env(
            SLACK_BOT_TOKEN=fake_slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.api_url,
            ANTHROPIC_API_KEY=fake_claude.api_key,
            ANTHROPIC_BASE_URL=fake_claude.base_url,
            ORCHESTRA_DATABASE_URL=f"sqlite:///{tmp_path / 'orchestra.db'}",
            ORCHESTRA_UPDATE_INTERVAL_S="0.2",
            **{"PORT": str(free_port()), **values},
        )

    return make


async def first_with_a_live_run(
    env: dict[str, str],
    processes: list[BotProcess],
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
) -> tuple[BotProcess, str]:
    """The old process, healthy, with one run whose three subtasks are in flight; and the
    ts of the run's thread."""
    first = await start_bot(env)
    processes.append(first)
    url = f"http://127.0.0.1:{env['PORT']}"
    await wait_healthy(url)
    ts = fake_slack.add_user_message("C1", "U1", "<@UBOT> compare tides")
    body, kind = signing.mention_event(
        text="<@UBOT> compare tides", user="U1", channel="C1", ts=ts, event_id="Ev1"
    )
    headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/slack/events", data=body, headers=headers) as response,
    ):
        assert response.status == 200
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3, within=15)
    return first, ts


async def test_a_second_process_on_the_file_never_runs_the_first_ones_runs(
    env: Callable[..., dict[str, str]],
    processes: list[BotProcess],
    fake_claude: FakeAnthropic,
    fake_slack: FakeSlack,
) -> None:
    slow = {"on": True}
    fake_claude.respond(
        "subagent", lambda call: Reply(text="Found it.", latency=60 if slow["on"] else 0)
    )
    first, ts = await first_with_a_live_run(env(), processes, fake_slack, fake_claude)

    # A process waits 1.5 x its shutdown timeout for the first to exit; the first does not.
    refused = await start_bot(env(ORCHESTRA_SHUTDOWN_TIMEOUT_S="0.5"))
    processes.append(refused)
    code, err = await finish(refused, within=15)
    assert code == 1, err
    assert "Traceback" not in err
    said = err.strip().splitlines()[-1]
    assert f"Another Orchestra process (pid {first.pid})" in said
    assert "ORCHESTRA_REDIS_URL" in said
    # It resumed nothing: no second plan, no subagent called again.
    assert len(fake_claude.calls_for("orchestrator")) == 1
    assert len(fake_claude.calls_for("subagent")) == 3

    # A deploy: the new process starts, then the old one is stopped while the new one waits.
    second_env = env(ORCHESTRA_SHUTDOWN_TIMEOUT_S="10")
    second = await start_bot(second_env)
    processes.append(second)
    assert second.stderr is not None
    async with asyncio.timeout(15):  # until it says it waits for the first
        while b"in use by another process" not in await second.stderr.readline():
            assert second.returncode is None
    slow["on"] = False
    first.send_signal(signal.SIGTERM)
    code, err = await finish(first, within=15)
    assert code == 0, err[-2000:]
    await wait_healthy(f"http://127.0.0.1:{second_env['PORT']}")

    def thread() -> str:
        return thread_text(fake_slack.thread("C1", ts))

    await eventually(lambda: "tokens in" in thread(), within=15)
    assert "Resumed after a restart" in thread()
    assert thread().count("tokens in") == 1  # one answer
    assert len(fake_claude.calls_for("orchestrator")) == 1  # the plan was reused
    second.send_signal(signal.SIGTERM)
    code, err = await finish(second, within=15)
    assert code == 0, err[-2000:]
