"""The fake Anthropic API knows a call's role by what the call is, not by its prompt's words."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import pytest

from pipeline import PipelineConfig, run_pipeline
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.prompts import INTEGRATOR_SYSTEM
from sandbox.fakes.claude import FakeAnthropic, Reply

PLAN_FORMAT = {"format": {"type": "json_schema", "schema": {"type": "object"}}}


@pytest.fixture
async def fake_claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as fake:
        fake.respond("integrator", lambda c: Reply(text="integrated"))
        fake.respond("subagent", lambda c: Reply(text="researched"))
        yield fake


@pytest.fixture
async def client(fake_claude: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = make_client(fake_claude.api_key, fake_claude.base_url, timeout_s=5)
    yield client
    await client.close()


async def test_a_streamed_call_is_the_integrator_whatever_its_prompt_says(
    fake_claude: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    async with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=100,
        system="Nothing here says integrator.",
        messages=[{"role": "user", "content": "merge these"}],
    ) as stream:
        assert await stream.get_final_text() == "integrated"
    assert [c.role for c in fake_claude.calls] == ["integrator"]


async def test_a_plain_call_is_a_subagent_even_in_the_integrators_words(
    fake_claude: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    message = await client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        system=INTEGRATOR_SYSTEM,
        messages=[{"role": "user", "content": "merge these"}],
    )
    assert [b.text for b in message.content if b.type == "text"] == ["researched"]
    assert [c.role for c in fake_claude.calls] == ["subagent"]


async def test_a_call_asking_for_structured_output_is_the_orchestrator(
    fake_claude: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    await client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        messages=[{"role": "user", "content": "plan this"}],
        extra_body={"output_config": PLAN_FORMAT},
    )
    assert [c.role for c in fake_claude.calls] == ["orchestrator"]


async def test_in_a_run_only_the_integrator_streams(
    fake_claude: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    # What the classifier relies on: the adapter streams only when handed `on_text`.
    result = await run_pipeline("goal", llm=AnthropicLLM(client), config=PipelineConfig())
    assert result.status == "succeeded"
    assert result.answer == "integrated"
    assert [(c.role, c.streamed) for c in fake_claude.calls] == [
        ("orchestrator", False),
        ("subagent", False),
        ("subagent", False),
        ("subagent", False),
        ("integrator", True),
    ]
