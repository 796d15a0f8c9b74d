"""Daily budgets through the real app: parallel subagents never overshoot, counted in what
the fake Claude reports; a stopped run says which budget, what is left and when it resets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.runs.budgets import budget_refusal
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply, Usage
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

USER_BUDGET = 0.035  # the plan, then two subagents of five at once: not three
SUBAGENT = Usage(input_tokens=500, output_tokens=2000)  # $0.0105 on Haiku 4.5


@pytest.fixture
def config() -> PipelineConfig:
    # Small plan and integrator calls, so the budget is the subagents' to spend.
    return PipelineConfig(
        retry_initial_wait_s=0.01,
        retry_max_wait_s=1,
        call_timeout_s=5,
        max_attempts=2,
        plan_max_tokens=256,
        integrator_max_tokens=256,
    )


def spent_at_claude(claude: FakeAnthropic, config: PipelineConfig) -> float:
    """US$ of every call the fake answered, at the configured prices."""
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
        ) / 1_000_000
    return total


@pytest.fixture
async def budgeted(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    fake_claude.respond_plan(simple_plan("goal", 5))

    def subagent(call: CallInfo) -> Reply:
        return Reply(text="A finding.", usage=SUBAGENT, latency=0.2)

    fake_claude.respond("subagent", subagent)
    settings = world_settings(
        fake_slack, user_daily_budget_usd=USER_BUDGET, channel_daily_budget_usd=1.0
    )
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        yield world
    await client.close()


async def test_parallel_subagents_never_overshoot_a_small_user_budget(
    budgeted: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> None:
    await budgeted.command("survey five markets", user="U1")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: "daily budget" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not budgeted.deps.runs.running)

    text = thread_text(fake_slack.thread("C1", root))
    assert "This run stopped: your daily budget of $0.035 has $0.0" in text
    assert "not enough for the next call; it resets at 00:00 UTC (in " in text
    spent = spent_at_claude(fake_claude, config)
    assert spent <= USER_BUDGET
    # Five subagents would have started at once; the budget let two run.
    assert len(fake_claude.calls_for("subagent")) == 2
    assert fake_claude.calls_for("integrator") == []
    store = budgeted.deps.store
    assert await store.spend_today(user="U1") == pytest.approx(spent)  # counted once
    assert await store.held_today(user="U1") == 0.0


async def test_a_spent_channel_budget_refuses_a_request_privately_before_anything_runs(
    budgeted: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    deps = budgeted.deps
    await deps.store.record_spend(user="U9", channel="C1", usd=0.999)

    refusal = await budget_refusal(deps, deps.settings, "U2", "C1")
    assert refusal is not None
    assert refusal.startswith("This channel's daily budget of $1.00 has $0.001 left")
    assert "resets at 00:00 UTC (in " in refusal
    assert await budget_refusal(deps.store, deps.settings, "U2", "C2") is None

    # Through the app: the request is refused privately, before anything is posted or called.
    await budgeted.command("research tides", user="U2", reply_to="u2")
    await eventually(lambda: bool(fake_slack.responses_to.get("u2")))
    told = str(fake_slack.responses_to["u2"][0].get("text"))
    assert told.startswith("This channel's daily budget of $1.00 has $0.001 left")
    assert fake_slack.channel_messages("C1") == []
    assert fake_claude.calls == []
    assert not budgeted.deps.runs.running
    assert budgeted.deps.runs.admission.runs_of("U2") == []  # the refusal holds no slot


async def test_without_budgets_every_call_reaches_the_spend_ledger_once(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> None:
    assert world.deps.config == config  # the world's settings carry the test's config
    await world.command("research tides", user="U3")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)

    assert await budget_refusal(world.deps, world.deps.settings, "U3", "C1") is None
    spent = await world.deps.store.spend_today(user="U3", channel="C1")
    assert spent > 0
    assert spent == pytest.approx(spent_at_claude(fake_claude, config))
