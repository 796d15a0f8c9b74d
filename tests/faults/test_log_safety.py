"""Outside text cannot forge a log line of `python -m bot`: a raw newline in a request's
field or in Slack's answer stays inside its own record, escaped."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import pytest

from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import bot_env, finish, free_port, start_bot, wait_healthy
from tests.faults.conftest import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "log-safety-secret"
FORGED = "2026-01-01 00:00:00,000 CRITICAL bot.serving.app: forged by the request"


async def test_a_raw_newline_in_a_request_cannot_forge_a_log_line(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # Both ways of telling the person fail, so the app logs who it could not tell: the
    # request's user id, which carries a line of its own and a terminal escape.
    fake_slack.fail("chat.postEphemeral", error="user_not_in_channel", times=None)
    fake_slack.fail("chat.postMessage", error="channel_not_found", times=None)
    port = free_port()
    env = bot_env(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        ANTHROPIC_API_KEY=fake_claude.api_key,
        ANTHROPIC_BASE_URL=fake_claude.base_url,
        PORT=str(port),
    )
    bot = await start_bot(env)
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url)
        ts = fake_slack.add_user_message("C1", "U1", "<@UBOT>")
        body, kind = signing.mention_event(
            text="<@UBOT>", user="U1\r\n" + FORGED + "\x1b[2J", channel="C1", ts=ts
        )
        headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{url}/slack/events", data=body, headers=headers) as r,
        ):
            assert r.status == 200
        await eventually(lambda: bool(fake_slack.calls_to("chat.postMessage")))
        await asyncio.sleep(0.5)  # the app logs once Slack's refusal is back
        bot.send_signal(signal.SIGTERM)
        code, err = await finish(bot, within=15)
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    assert code == 0, err
    forged = [line for line in err.splitlines() if line.startswith(FORGED[:10])]
    assert forged == [], forged
    assert "\x1b" not in err
    assert "U1\\r\\n" + FORGED + "\\x1b[2J" in err  # the user id, escaped, in its own record
