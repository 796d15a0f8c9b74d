"""`make run` without tokens: the launcher starts the sandbox, prints its URL, serves the page,
and stops cleanly on SIGTERM."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.sandbox.process import running_sandbox

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
