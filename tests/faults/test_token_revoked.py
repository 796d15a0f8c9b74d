"""A bot token revoked while the app runs (the app uninstalled, the token rotated out): the
real `python -m bot` notices on the first refused call, logs it once, `/healthz` names Slack,
and a person who asks is told why nothing can happen."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import pytest

from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from tests.faults.bot_process import bot_env, finish, free_port, start_bot, wait_healthy
from tests.faults.conftest import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "revoked-token-secret"
LOGGED = "Slack refused the bot token (token_revoked)"


async def post(url: str, body: str, kind: str) -> None:
    headers = {"Content-Type": kind, **signing.sign(SECRET, body)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/slack/events", data=body, headers=headers) as response,
    ):
        assert response.status == 200


async def healthz(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as response:
        return response.status, json.loads(await response.text())


async def test_a_token_revoked_while_running_is_logged_once_named_by_healthz_and_told(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bot = await start_bot(
        bot_env(
            SLACK_BOT_TOKEN=fake_slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.api_url,
            ANTHROPIC_API_KEY=fake_claude.api_key,
            ANTHROPIC_BASE_URL=fake_claude.base_url,
            ORCHESTRA_DATABASE_URL=f"sqlite:///{tmp_path / 'orchestra.db'}",
            PORT=str(port),
        )
    )
    try:
        await wait_healthy(url)
        # Served once while the token was good (Bolt keeps its auth.test answer from then).
        body, kind = signing.slash_command(
            command="/research",
            text="history",
            user="U1",
            channel="C1",
            response_url=f"{fake_slack.response_url}?to=history",
        )
        await post(url, body, kind)
        await eventually(lambda: bool(fake_slack.responses_to.get("history")), within=10)

        fake_slack.revoke_bot_token()
        body, kind = signing.slash_command(
            command="/research",
            text="compare tides",
            user="U1",
            channel="C1",
            response_url=f"{fake_slack.response_url}?to=run",
        )
        await post(url, body, kind)
        await eventually(lambda: bool(fake_slack.responses_to.get("run")), within=10)
        told = str(fake_slack.responses_to["run"][-1].get("text", ""))
        assert "reinstall the app" in told
        assert "try again" not in told.lower()

        # /healthz reuses its answer for a second (bot.serving.health.REUSE_S): until it is fresh.
        status, state = await healthz(url)
        async with asyncio.timeout(5):
            while status == 200:
                await asyncio.sleep(0.1)
                status, state = await healthz(url)
        assert status == 503, state
        assert state["failing"] == ["slack"]
        assert state["checks"] == {
            "database": "ok",
            "slack": "refused the bot token (token_revoked)",
        }

        # A mention cannot be answered at all (every way to reply needs the token): it is
        # refused quietly, and logged no second time.
        refused_before = len(fake_slack.calls)
        ts = fake_slack.add_user_message("C2", "U2", "<@UBOT> are you there")
        mention, kind = signing.mention_event(
            text="<@UBOT> are you there", user="U2", channel="C2", ts=ts
        )
        await post(url, mention, kind)
        await eventually(lambda: len(fake_slack.calls) > refused_before, within=10)
        assert not fake_claude.calls_for("orchestrator")
    finally:
        bot.send_signal(signal.SIGTERM)
        code, err = await finish(bot, within=15)
    assert code == 0, err[-2000:]
    assert err.count(LOGGED) == 1, err[-3000:]
