"""SIGTERM with runs live: every live run's thread says it was interrupted and how to re-run,
then `python -m bot` exits within a bounded time."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import aiohttp
import pytest

from bot.runs import RESTART_NOTE
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.faults.bot_process import bot_env, free_port
from tests.faults.conftest import eventually, thread_text

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "shutdown-test-secret"


async def test_sigterm_interrupts_live_runs_visibly_and_exits_in_time(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=60))
    port = free_port()
    env = bot_env(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        ANTHROPIC_API_KEY=fake_claude.api_key,
        ANTHROPIC_BASE_URL=fake_claude.base_url,
        PORT=str(port),
        ORCHESTRA_SHUTDOWN_TIMEOUT_S="5",
        ORCHESTRA_UPDATE_INTERVAL_S="0.1",
    )
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=env, cwd="/", stderr=asyncio.subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                try:
                    async with http.get(f"{url}/healthz") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            async with asyncio.timeout(20):
                # Polling on purpose: readiness is another process's state.
                while not await healthy():  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            for i, channel in enumerate(("C1", "C2", "C3")):
                body, kind = signing.slash_command(
                    command="/research", text=f"long question {i}", user="U1", channel=channel
                )
                headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
                async with http.post(f"{url}/slack/events", data=body, headers=headers) as r:
                    assert r.status == 200
        await eventually(lambda: len(fake_claude.calls_for("subagent")) == 9, within=20)
        bot.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, err = await asyncio.wait_for(bot.communicate(), 15)
        took = time.monotonic() - started
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    assert bot.returncode == 0, err.decode()[-2000:]
    assert took < 8, f"took {took:.1f}s to exit"
    for channel in ("C1", "C2", "C3"):
        root = fake_slack.channel_messages(channel)[0]
        text = thread_text(fake_slack.thread(channel, root.ts))
        assert "Interrupted" in text, text
        assert "Ask again" in text
        assert "tokens in" not in text
    assert "Interrupted" in RESTART_NOTE
    assert "Traceback" not in err.decode()


async def test_a_run_stopped_before_its_thread_exists_tells_the_requester(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=60))
    for i in range(4):  # the 4th root post waits for Slack's 1/s per-channel pace
        await world.command(f"question {i}", user=f"U{i}")
    await eventually(lambda: len(fake_slack.channel_messages("C1")) >= 1)
    await world.deps.runs.shutdown(timeout_s=5)
    roots = fake_slack.channel_messages("C1")
    assert len(roots) < 4, "every root got posted: the case did not arise"
    for root in roots:
        assert "Interrupted" in thread_text(fake_slack.thread("C1", root.ts))
    told = [str(r.get("text", "")) for r in fake_slack.responses]
    assert len(told) == 4 - len(roots)
    assert all("Interrupted" in t and "question" in t for t in told), told
