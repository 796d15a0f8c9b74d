"""`python -m bot` refuses bad configuration with one sentence and exit code 2.

Forked from the tests' zygote (`tests.zygote`), which imported the app once: the start of a
real interpreter is compared with a fork's in `tests/project/test_zygote.py`."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import pytest

from tests.zygote import PIPE, start_module


@dataclass(frozen=True)
class Done:
    returncode: int
    stderr: str


async def run_bot(**env: str) -> Done:
    base = {k: v for k, v in os.environ.items() if k == "PATH" or k.startswith("COVERAGE_")}
    bot = await start_module("bot", env={**base, **env}, cwd="/", stdout=PIPE, stderr=PIPE)
    _, err = await asyncio.wait_for(bot.communicate(), 30)  # cwd /: no .env there
    assert bot.returncode is not None
    return Done(bot.returncode, err.decode())


async def test_nothing_configured_names_every_missing_variable() -> None:
    done = await run_bot()
    assert done.returncode == 2
    message = done.stderr.strip()
    assert message.count("\n") == 0, message
    for name in ("SLACK_BOT_TOKEN", "ANTHROPIC_API_KEY", "SLACK_SIGNING_SECRET"):
        assert name in message


async def test_socket_mode_does_not_need_a_signing_secret() -> None:
    done = await run_bot(SLACK_APP_TOKEN="xapp-1", SLACK_BOT_TOKEN="xoxb-1")
    assert done.returncode == 2
    assert "ANTHROPIC_API_KEY" in done.stderr
    assert "SLACK_SIGNING_SECRET" not in done.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("ORCHESTRA_CANCEL_BY", "everyone"), ("ORCHESTRA_COMMAND", "research"), ("PORT", "99999")],
)
async def test_an_invalid_setting_is_named_in_one_sentence(name: str, value: str) -> None:
    done = await run_bot(**{name: value})
    assert done.returncode == 2
    assert name in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


@pytest.mark.slow
async def test_an_unknown_log_level_is_named_in_one_sentence() -> None:
    done = await run_bot(
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        ANTHROPIC_API_KEY="sk-1",
        ORCHESTRA_LOG_LEVEL="loud",
    )
    assert done.returncode == 2
    assert "ORCHESTRA_LOG_LEVEL" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


TOKENS = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "ANTHROPIC_API_KEY": "sk-1"}


@pytest.mark.parametrize(
    ("name", "value", "beside"),
    [
        # Each passed validation before and broke every run: a daily budget's reservation
        # held for an infinite call timeout, Redis leases of infinite length, "$nan" costs.
        ("ORCHESTRA_CALL_TIMEOUT_S", "inf", {"ORCHESTRA_USER_DAILY_BUDGET_USD": "5"}),
        ("ORCHESTRA_LEASE_S", "inf", {"ORCHESTRA_REDIS_URL": "redis://127.0.0.1:6379/0"}),
        ("ORCHESTRA_PRICES", '{"claude-haiku-4-5": {"input": Infinity, "output": 5}}', {}),
        ("ORCHESTRA_RETENTION_DAYS", "nan", {}),
        ("ORCHESTRA_BUDGET_USD", "1e999", {}),
        # Every web call failed with a 400.
        ("ORCHESTRA_WEB_ALLOWED_DOMAINS", "https://x.com", {}),
    ],
    ids=["timeout-inf", "lease-inf", "price-inf", "retention-nan", "budget-1e999", "domain-url"],
)
@pytest.mark.slow
async def test_a_value_that_would_break_every_run_is_refused_at_start_naming_it(
    name: str, value: str, beside: dict[str, str]
) -> None:
    done = await run_bot(**TOKENS, **beside, **{name: value})
    assert done.returncode == 2, done.stderr
    message = done.stderr.strip()
    assert "Traceback" not in message
    assert message.count("\n") == 0, message
    assert message.startswith(f"Invalid configuration: {name}")
