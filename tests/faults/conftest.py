"""The world for fault and abuse tests: both fakes, the real app, short timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, fake_claude, fake_slack, thread_text

# A hang is waited out this long; any other fault gets ROOMY_TIMEOUT_S, so that on a busy
# machine a slow but malformed (or truncated) reply is never read as a timeout instead.
CALL_TIMEOUT_S = 0.5
ROOMY_TIMEOUT_S = 5.0


@pytest.fixture
def config(request: pytest.FixtureRequest) -> PipelineConfig:
    callspec = getattr(request.node, "callspec", None)
    fault = str(callspec.params.get("name", "")) if callspec is not None else ""
    return PipelineConfig(
        retry_initial_wait_s=0.01,
        retry_max_wait_s=1,
        call_timeout_s=CALL_TIMEOUT_S if "hang" in fault else ROOMY_TIMEOUT_S,
        max_attempts=2,
    )


@pytest.fixture
async def world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, update_interval_s=0.05)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
    await client.close()


def root_ts(slack: FakeSlack, channel: str = "C1", index: int = 0) -> str:
    """The ts of the `index`-th top-level message in a channel."""
    return slack.channel_messages(channel)[index].ts


async def run_ended(world: World, channel: str = "C1", index: int = 0, within: float = 10) -> str:
    """Wait until the run under the `index`-th root message has visibly ended; its thread."""
    slack = world.slack
    await eventually(lambda: len(slack.channel_messages(channel)) > index, within)
    root = root_ts(slack, channel, index)
    await eventually(lambda: not world.deps.runs.running, within)
    return thread_text(slack.thread(channel, root))


async def serves_next_request(world: World, channel: str = "C9") -> None:
    """The app still answers a fresh request from end to end."""
    await world.command("are you still there", channel=channel)
    await eventually(lambda: bool(world.slack.channel_messages(channel)))
    root = root_ts(world.slack, channel)
    await eventually(lambda: "tokens in" in thread_text(world.slack.thread(channel, root)))


__all__ = ["eventually", "fake_claude", "fake_slack", "thread_text"]
