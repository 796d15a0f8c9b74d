"""Daily budgets hold for web research through the real app: every API request (a subagent's
first, and each continuation of a paused web turn) holds its worst case (searches, their
results and fetched pages up to `max_content_tokens` included) and settles to what the fake
Claude billed; a continuation that does not fit is not sent, and the subtask says why."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, Citation, FakeAnthropic, Fetch, Reply, Search
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

BUDGET = 1.00
WEB_PLAN = simple_plan("goal", 3, needs_web={"s1", "s2", "s3"})
# A long page: about 50,000 tokens, unless the request's max_content_tokens cuts it.
LONG_PAGE = Fetch(url="https://pages.example/long", title="A long page", text="tide " * 40_000)
STOPPED = "its web research stopped there, as "


def researcher(call: CallInfo) -> Reply:
    """A subagent that always wants more: 60 searches and 60 long pages per request (the
    request's `max_uses` lets 5 of each happen), and a turn paused every time."""
    return Reply(
        text="Found so far.",
        searches=[Search()] * 60,
        fetches=[LONG_PAGE] * 60,
        citations=[Citation(" A cited claim.", cited_text="claim")],
        pause_turn=True,
        latency=0.05,
    )


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01,
        retry_max_wait_s=1,
        call_timeout_s=10,
        max_attempts=2,
        plan_max_tokens=1024,
        integrator_max_tokens=1024,
    )


def spent_at_claude(claude: FakeAnthropic, config: PipelineConfig) -> float:
    """US$ of every request the fake answered, tokens and searches, at the configured prices."""
    total = 0.0
    for call in claude.calls:
        if call.usage is None:
            continue
        price = config.price_for(call.body["model"])
        assert price is not None
        total += (
            call.usage.input_tokens * price.input
            + call.usage.output_tokens * price.output
            + call.usage.cache_creation_input_tokens * price.input * 1.25
            + call.usage.cache_read_input_tokens * price.input * 0.1
        ) / 1_000_000 + call.usage.web_search_requests * price.web_search_per_1000 / 1000
    return total


async def web_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig, **budgets: float
) -> AsyncIterator[World]:
    fake_claude.respond_plan(WEB_PLAN)
    fake_claude.respond("subagent", researcher)
    settings = world_settings(fake_slack, **budgets)
    client = make_client(fake_claude.api_key, fake_claude.base_url, 10)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
    await client.close()


@pytest.fixture
async def user_budget(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    async for world in web_world(fake_slack, fake_claude, config, user_daily_budget_usd=BUDGET):
        yield world


@pytest.fixture
async def channel_budget(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    async for world in web_world(fake_slack, fake_claude, config, channel_daily_budget_usd=BUDGET):
        yield world


async def ended(world: World, fake_slack: FakeSlack, roots: int) -> list[str]:
    """The threads' text once `roots` runs have posted and every run has ended."""
    await eventually(lambda: len(fake_slack.channel_messages("C1")) == roots)
    await eventually(lambda: not world.deps.runs.running, within=30)
    return [thread_text(fake_slack.thread("C1", m.ts)) for m in fake_slack.channel_messages("C1")]


async def test_paused_web_turns_never_cross_a_daily_budget_and_say_where_they_stopped(
    user_budget: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> None:
    await user_budget.command("survey the tides", user="U1")
    (thread,) = await ended(user_budget, fake_slack, 1)

    spent = spent_at_claude(fake_claude, config)
    assert spent <= BUDGET
    store = user_budget.deps.store
    assert await store.spend_today(user="U1") == pytest.approx(spent)  # counted once
    assert await store.held_today(user="U1") == 0.0
    subagent_calls = fake_claude.calls_for("subagent")
    # Every request asked for at most 5 searches and pages cut to their max_content_tokens.
    for call in subagent_calls:
        search, fetch = call.body["tools"]
        assert (search["max_uses"], fetch["max_uses"]) == (5, 5)
        assert fetch["max_content_tokens"] == config.web_fetch_max_content_tokens
        assert call.usage is None or call.usage.web_search_requests <= 5
    # The turns paused and some were continued, until the budget could not hold the next.
    assert len(subagent_calls) > 3
    # What the person sees: where each subtask's research stopped, and why.
    assert f"cut short: {STOPPED}your daily budget of $1.00 has $0." in thread
    assert "not enough for the next call; it resets at 00:00 UTC (in " in thread
    assert "tokens in" in thread  # the run ended with an answer or a stop, and its footer


@pytest.mark.slow
async def test_two_runs_paused_in_parallel_never_cross_their_channels_budget(
    channel_budget: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> None:
    await channel_budget.command("survey the tides", user="U1")
    await channel_budget.command("survey the winds", user="U2")
    threads = await ended(channel_budget, fake_slack, 2)

    spent = spent_at_claude(fake_claude, config)
    assert spent <= BUDGET
    store = channel_budget.deps.store
    assert await store.spend_today(channel="C1") == pytest.approx(spent)
    assert await store.held_today(channel="C1") == 0.0
    assert any(f"{STOPPED}this channel's daily budget of $1.00 has $" in t for t in threads)
    assert all("tokens in" in t for t in threads)
