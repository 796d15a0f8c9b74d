"""`make run` without tokens: the launcher starts the sandbox, prints its URL, serves the page,
and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.ports import free_port
from tests.sandbox.process import STARTUP_LIMIT_S, running_sandbox, token_free_env

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


async def test_launcher_without_tokens_serves_the_sandbox_page(tmp_path: Path) -> None:
    # tmp_path has no `.env`, so only the (token-free) environment decides.
    async with running_sandbox("sandbox.launch", tmp_path) as sandbox:
        async with aiohttp.ClientSession() as http, http.get(sandbox.url) as response:
            assert response.status == 200
            page = await response.text()
        assert 'id="composer"' in page
        assert "OFFLINE DEMO" in page
        assert any("No Slack tokens configured" in line for line in sandbox.output)
        assert await sandbox.stop() == 0


async def test_a_busy_port_is_named_with_the_variable_that_changes_it(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sandbox",
            cwd=tmp_path,
            env=token_free_env(port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), STARTUP_LIMIT_S)
    assert process.returncode == 2
    message = err.decode()
    assert f"Could not start the sandbox on port {port}" in message
    assert "ORCHESTRA_SANDBOX_PORT=8081 make run" in message


async def test_a_copy_of_env_example_as_it_is_starts_the_sandbox(tmp_path: Path) -> None:
    # `cp .env.example .env && make run`: its empty tokens are no tokens at all.
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    async with running_sandbox("sandbox.launch", tmp_path) as sandbox:
        assert any("No Slack tokens configured" in line for line in sandbox.output)
        assert await sandbox.stop() == 0


@pytest.mark.parametrize(
    ("dotenv", "named"),
    [
        (
            "SLACK_BOT_TOKEN=xoxb-1\n",
            ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"],
        ),
        (
            "SLACK_BOT_TOKEN=xoxb-1\nSLACK_APP_TOKEN=\nSLACK_SIGNING_SECRET=\n",
            ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"],
        ),
        ("SLACK_APP_TOKEN=xapp-1\n", ["SLACK_APP_TOKEN", "SLACK_BOT_TOKEN"]),
        ("SLACK_SIGNING_SECRET=s3cret\n", ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"]),
    ],
    ids=["bot-token-only", "bot-token-and-empty-others", "app-token-only", "secret-only"],
)
async def test_a_half_filled_env_names_what_is_missing_and_starts_neither(
    tmp_path: Path, dotenv: str, named: list[str]
) -> None:
    (tmp_path / ".env").write_text(dotenv)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.launch",
        cwd=tmp_path,
        env=token_free_env(free_port()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), STARTUP_LIMIT_S)
    assert process.returncode == 2, err.decode()
    message = err.decode().strip()
    assert message.count("\n") == 0, message
    assert message.startswith("Incomplete Slack configuration:")
    for name in named:
        assert name in message
    assert "s3cret" not in message  # names, never values
    assert "xoxb-1" not in message
    assert "No Slack tokens configured" not in out.decode()
