"""`make run` without tokens: the launcher starts the sandbox, prints its URL, serves the page,
and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.sandbox.process import STARTUP_LIMIT_S, running_sandbox, token_free_env

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
