"""The world for end-to-end tests: both fakes and the real app over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack, Message
from sandbox.world import World, running_world, world_settings


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


@pytest.fixture
async def fake_claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as claude:
        yield claude


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=5, max_attempts=2
    )


@pytest.fixture
async def world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    async with running_world(fake_slack, AnthropicLLM(client), config) as world:
        yield world
    await client.close()


@pytest.fixture
async def messages_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """The world with canvases off (ORCHESTRA_CANVAS_MIN_CHARS=0): every answer as messages,
    for tests of the messages themselves (canvases: tests/e2e/test_canvas_report.py)."""
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, canvas_min_chars=0)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
    await client.close()


async def eventually(check: Callable[[], bool], within: float = 10) -> None:
    """Wait until `check()` holds (the app works in the background after its ack)."""
    async with asyncio.timeout(within):
        # Polling on purpose: the state lives in two fakes and the app, with no one event.
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def thread_text(messages: list[Message]) -> str:
    """Everything a person reads in a thread."""
    return "\n".join(m.visible_text() for m in messages)
