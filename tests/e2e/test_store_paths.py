"""The run store's rarer paths through the real app: a run that cannot be resumed, and a
store that fails mid-run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import RunStore, StoreDown
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack
from sandbox.world import running_world
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(f"sqlite:///{tmp_path / 'orchestra.db'}")
    yield opened
    await opened.close()


async def test_a_run_whose_goal_retention_removed_is_not_resumed_and_its_requester_told(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig, store: RunStore
) -> None:
    run_id = await store.create_run(
        workspace="T", requester="U7", channel="C1", source="command", goal="", status="running"
    )
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    async with running_world(fake_slack, AnthropicLLM(client), config, store=store):
        await eventually(lambda: bool(fake_slack.visible_ephemeral("U7", "C1")))
    await client.close()
    assert "could not resume" in fake_slack.visible_ephemeral("U7", "C1")[0]
    stored = await store.get_run(run_id)
    assert stored is not None
    assert stored.status == "failed"
    assert fake_claude.calls == []


async def test_a_store_failing_mid_run_does_not_stop_the_answer(
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    config: PipelineConfig,
    store: RunStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def unreachable(*args: object, **kwargs: object) -> None:
        raise StoreDown("the run store did not answer (OSError)")

    monkeypatch.setattr(store, "save_subtask", unreachable)
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    async with running_world(fake_slack, AnthropicLLM(client), config, store=store) as world:
        await world.command("research tides")
        await eventually(lambda: bool(fake_slack.channel_messages("C1")))
        root = fake_slack.channel_messages("C1")[0].ts
        await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await client.close()
