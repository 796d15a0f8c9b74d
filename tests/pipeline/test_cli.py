"""`python -m pipeline` against the fake Claude, as a person would run it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator

import pytest

from sandbox.fakes.claude import FakeAnthropic, Reply


@pytest.fixture
async def fake_claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as fake:
        fake.respond("integrator", lambda c: Reply(text="THE INTEGRATED ANSWER"))
        yield fake


def inherited() -> dict[str, str]:
    """PATH, and coverage's settings so the child process is measured too; nothing else."""
    return {k: v for k, v in os.environ.items() if k == "PATH" or k.startswith("COVERAGE_")}


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipeline",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**inherited(), **env},
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, out.decode(), err.decode()


async def test_cli_shows_progress_then_answer_and_footer(fake_claude: FakeAnthropic) -> None:
    env = {"ANTHROPIC_API_KEY": fake_claude.api_key, "ANTHROPIC_BASE_URL": fake_claude.base_url}
    code, out, err = await run_cli("compare three databases", env=env)
    assert code == 0, err
    assert "THE INTEGRATED ANSWER" in out
    assert "Plan:" in err
    for sub in ("s1", "s2", "s3"):
        assert f"✓ {sub} done" in err
    assert "subtasks done" in err
    assert "tokens in" in err


async def test_cli_json_prints_the_run_record(fake_claude: FakeAnthropic) -> None:
    env = {"ANTHROPIC_API_KEY": fake_claude.api_key, "ANTHROPIC_BASE_URL": fake_claude.base_url}
    code, out, _ = await run_cli("goal", "--json", env=env)
    record = json.loads(out)
    assert code == 0
    assert record["status"] == "succeeded"
    assert set(record["outcomes"]) == {"s1", "s2", "s3"}
    assert record["usage"]["input_tokens"] > 0


async def test_cli_without_key_says_so_and_exits_2() -> None:
    code, _, err = await run_cli("goal", env={})
    assert code == 2
    assert err.strip() == "ANTHROPIC_API_KEY is not set: export your Anthropic API key."


async def test_cli_names_an_invalid_setting_by_its_variable() -> None:
    code, _, err = await run_cli("goal", env={"ORCHESTRA_CONCURRENCY": "0"})
    assert code == 2
    assert err.startswith("Invalid configuration: ORCHESTRA_CONCURRENCY:")
