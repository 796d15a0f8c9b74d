"""The sandbox page in-process: the real app and both fakes, the demo model made fast, and the
page's routes served on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.demo import install_demo
from sandbox.fakes.slack import FakeSlack
from sandbox.page import create_page_app
from sandbox.world import World, running_world


@pytest.fixture
def speed() -> float:
    """How slow the demo model is (1.0: as in the sandbox; the default here: 100x faster)."""
    return 0.01


@pytest.fixture
async def world(speed: float) -> AsyncIterator[World]:
    async with FakeSlack() as slack, FakeAnthropic() as claude:
        install_demo(claude, speed=speed, seed=1)
        client = make_client(claude.api_key, claude.base_url, 5)
        async with running_world(slack, AnthropicLLM(client), PipelineConfig()) as world:
            yield world
        await client.close()


@pytest.fixture
async def server(world: World) -> AsyncIterator[TestServer]:
    server = TestServer(create_page_app(world, "Demo <backend>"))
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def page(server: TestServer) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(server) as client:
        yield client


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10) -> None:
    """Wait until `check()` holds: the app works in the background after its ack."""
    async with asyncio.timeout(within):
        # Polling on purpose: the page itself learns of changes only by re-reading the view.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
