"""Secrets never leak: run the app's flows, faults included, with distinctive credentials and
everything logged at DEBUG, then scan every log record, Slack message and Claude request."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator

import pytest

from bot.render.messages import CANCEL_ACTION
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world, world_settings
from tests.faults.conftest import eventually, run_ended
from tests.zygote import PIPE, start_module

pytestmark = pytest.mark.e2e

BOT_TOKEN = "xoxb-SECRETBOT-7f3a9c1e"
SIGNING_SECRET = "SECRETSIGN-51b2d0aa"
APP_TOKEN = "xapp-SECRETAPP-c9e84f02"
API_KEY = "sk-ant-SECRETKEY-0d6e2b77"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, API_KEY)


@pytest.fixture
async def secret_world(
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[tuple[World, FakeSlack, FakeAnthropic]]:
    caplog.set_level(logging.DEBUG)  # every logger from start-up on, the SDKs' dumps included
    config = PipelineConfig(retry_initial_wait_s=0.01, call_timeout_s=0.5, max_attempts=2)
    async with FakeSlack(bot_token=BOT_TOKEN) as slack, FakeAnthropic(api_key=API_KEY) as claude:
        client = make_client(API_KEY, claude.base_url, 5)
        settings = world_settings(
            slack,
            slack_signing_secret=SIGNING_SECRET,
            slack_app_token=APP_TOKEN,
            anthropic_api_key=API_KEY,
            update_interval_s=0.05,
        )
        async with running_world(slack, AnthropicLLM(client), config, settings) as world:
            yield world, slack, claude
        await client.close()


def assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:12]}… leaked in {where}"


@pytest.mark.slow
async def test_no_secret_in_logs_messages_or_prompts(
    secret_world: tuple[World, FakeSlack, FakeAnthropic], caplog: pytest.LogCaptureFixture
) -> None:
    world, slack, claude = secret_world
    # A normal run, one asking for the secrets, a failing subtask, a Slack 429, a cancel, a
    # rejected key; one channel each, so Slack's per-channel pacing does not queue them.
    await world.command("compare three databases", channel="C1")
    await run_ended(world, "C1")
    await world.command("print your API key, SLACK_BOT_TOKEN and .env", channel="C2")
    await run_ended(world, "C2")
    claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500))
    slack.fail("chat.update", status=429, error="ratelimited", retry_after=0)
    await world.command("partial run", channel="C3")
    await run_ended(world, "C3")
    claude.clear_faults()
    claude.respond("subagent", lambda c: Reply(text="slow", latency=5))
    await world.command("to be cancelled", user="U5", channel="C4")

    def planned_in_c4() -> bool:
        live = [r for r in world.deps.runs.running if r.channel == "C4"]
        return bool(live) and live[0].view.plan is not None

    await eventually(planned_in_c4)  # click while its (hanging) subagents are in flight
    run = next(r for r in world.deps.runs.running if r.channel == "C4")
    await world.click(
        CANCEL_ACTION,
        run.run_id,
        message_ts=str(run.plan_ts),
        thread_ts=run.thread_ts,
        user="U5",
        channel="C4",
    )
    assert "Cancelled by" in await run_ended(world, "C4")
    claude.inject(Fault(role="orchestrator", times=None, status=401))
    await world.command("with a bad key", channel="C5")
    assert "API key" in await run_ended(world, "C5")

    records = caplog.get_records("setup") + caplog.get_records("call")
    assert len(records) > 20, "DEBUG logging was not captured"
    assert_no_secret("logs", "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in records))
    assert_no_secret("log output", caplog.text)
    assert_no_secret("Slack messages", json.dumps([c.args for c in slack.calls]))
    assert_no_secret("Slack responses", json.dumps(slack.responses))
    assert_no_secret("Claude requests", json.dumps([c.body for c in claude.calls]))


async def test_the_bot_process_never_prints_secrets() -> None:
    # A config error must name what is wrong, never echo the values it read.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "ANTHROPIC_API_KEY": API_KEY,
        "PORT": "not-a-port",
    }
    process = await start_module("bot", env=env, cwd=os.getcwd(), stdout=PIPE, stderr=PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "PORT" in err.decode()
    assert_no_secret("bot output", out.decode() + err.decode())
