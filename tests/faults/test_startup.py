"""`python -m bot` tells the truth at start: a refused token is named in one sentence (exit
2), an unreachable Slack is said (exit 1), and a stop signal ends it promptly even while it
is still trying to connect."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest
from aiohttp import web

from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import bot_env, finish, free_port, start_bot, wait_healthy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP_TOKEN = "xapp-1-A0APP-stub"


# A log record at INFO or below (the process logs its start, e.g. a fresh store's migration);
# what is said to the person is everything else.
_INFO_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?:DEBUG|INFO) ")


def one_sentence(err: str) -> str:
    """stderr less its INFO records, which must be exactly one line and no traceback."""
    text = "\n".join(
        line for line in err.strip().splitlines() if not _INFO_RECORD.match(line)
    ).strip()
    assert "Traceback" not in text, text
    assert text.count("\n") == 0, text
    return text


@pytest.mark.parametrize("token", ["xoxb-wrong-7f3a", "not a token", "xoxb-\u2713"])
async def test_a_refused_bot_token_is_named_in_one_sentence_and_exits_2(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, token: str
) -> None:
    env = bot_env(
        SLACK_BOT_TOKEN=token,
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=fake_slack.api_url,
        ANTHROPIC_API_KEY=fake_claude.api_key,
        PORT=str(free_port()),
    )
    code, err = await finish(await start_bot(env), within=20)
    assert code == 2, err
    said = one_sentence(err)
    assert "SLACK_BOT_TOKEN" in said
    assert token not in said


async def test_a_refused_app_token_is_named_in_one_sentence_and_exits_2(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # The fake knows only its bot token: apps.connections.open answers invalid_auth.
    env = bot_env(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=fake_slack.api_url,
        ANTHROPIC_API_KEY=fake_claude.api_key,
    )
    code, err = await finish(await start_bot(env), within=20)
    assert code == 2, err
    said = one_sentence(err)
    assert "SLACK_APP_TOKEN" in said
    assert "invalid_auth" in said
    assert [c.method for c in fake_slack.calls] == ["auth.test", "apps.connections.open"]


async def test_a_deprecated_model_is_named_at_start_in_one_line_with_role_and_end_of_life(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    port = free_port()
    env = bot_env(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=fake_slack.api_url,
        ANTHROPIC_API_KEY=fake_claude.api_key,
        ANTHROPIC_BASE_URL=fake_claude.base_url,
        PORT=str(port),
        ORCHESTRA_DATABASE_URL=f"sqlite:///{tmp_path}/orchestra.db",
        ORCHESTRA_INTEGRATOR_MODEL="claude-opus-4-5",  # deprecated, end of life 2027-01-22
    )
    bot = await start_bot(env)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}")  # a warning, not a refusal
    finally:
        bot.send_signal(signal.SIGTERM)
        code, err = await finish(bot, within=10)
    assert code == 0, err
    (line,) = [line for line in err.splitlines() if "claude-opus-4-5" in line]
    assert "integrator" in line
    assert "ORCHESTRA_INTEGRATOR_MODEL" in line
    assert "2027-01-22" in line
    assert "claude-sonnet-4-6" not in err  # the current default models are not named


async def test_an_unreachable_slack_is_said_and_exits_1_after_bounded_retries() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    env = bot_env(
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=nowhere,
        ANTHROPIC_API_KEY="sk-1",
        PORT=str(free_port()),
    )
    started = time.monotonic()
    code, err = await finish(await start_bot(env), within=30)
    assert code == 1, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "Could not reach Slack" in last
    assert nowhere in last
    assert time.monotonic() - started < 20


async def test_a_stop_signal_during_start_up_retries_ends_the_process_promptly() -> None:
    env = bot_env(
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
        ANTHROPIC_API_KEY="sk-1",
        PORT=str(free_port()),
    )
    bot = await start_bot(env)
    assert bot.stderr is not None
    async with asyncio.timeout(20):  # inside the retry waits (start-up is slow on a busy box)
        while b"trying again" not in await bot.stderr.readline():
            pass
    bot.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code, err = await finish(bot, within=10)
    assert code == 0, err
    assert time.monotonic() - started < 2
    assert "Traceback" not in err


Mode = Literal["hangs", "refused", "accepted"]


@pytest.fixture
async def socket_stub(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A Slack Web API answering auth.test and apps.connections.open, whose Socket Mode
    WebSocket `hangs` (never completes the handshake), is `refused` (503) or `accepted`.
    Yields its API URL and an event set when the bot reaches the WebSocket."""
    mode: Mode = request.param
    reached = asyncio.Event()

    async def api(req: web.Request) -> web.Response:
        if req.match_info["method"] == "auth.test":
            return web.json_response({"ok": True, "user_id": "UBOT", "team_id": "T0TEAM"})
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{port}/ws"})

    async def ws(req: web.Request) -> web.StreamResponse:
        reached.set()
        if mode == "hangs":
            await asyncio.sleep(3600)
        if mode == "refused":
            return web.Response(status=503)
        socket = web.WebSocketResponse()
        await socket.prepare(req)
        async for _ in socket:
            pass
        return socket

    app = web.Application()
    app.router.add_post("/api/{method}", api)
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/api/", reached
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("socket_stub", ["hangs", "refused", "accepted"], indirect=True)
async def test_sigterm_stops_socket_mode_promptly_even_while_connecting(
    socket_stub: tuple[str, asyncio.Event],
) -> None:
    api_url, reached = socket_stub
    env = bot_env(
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=api_url,
        ANTHROPIC_API_KEY="sk-1",
    )
    bot = await start_bot(env)
    try:
        await asyncio.wait_for(reached.wait(), 20)
        await asyncio.sleep(0.5)  # connecting (or connected) by now
        bot.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code, err = await finish(bot, within=10)
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    assert code == 0, err
    assert time.monotonic() - started < 2.5, f"took {time.monotonic() - started:.1f}s"
