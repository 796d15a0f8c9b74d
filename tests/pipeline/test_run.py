"""Whole runs: retries, failures, budget, usage and cost, events."""

from __future__ import annotations

import pytest

from pipeline import (
    CallRetrying,
    IntegrationDelta,
    LLMError,
    PipelineConfig,
    Role,
    RunFinished,
    Usage,
    cost_of,
    run_pipeline,
)
from pipeline.testing import ScriptedLLM, simple_plan
from tests.pipeline.conftest import Recorder


def overloaded(retry_after: float | None = None) -> LLMError:
    return LLMError(
        "Claude is overloaded (529).", kind="overloaded", retryable=True, retry_after=retry_after
    )


async def test_events_tell_the_whole_story(config: PipelineConfig, recorder: Recorder) -> None:
    llm = ScriptedLLM(plan=simple_plan("g", 2), answer="A" * 100)
    result = await run_pipeline("goal", llm=llm, config=config, sink=recorder)
    names = recorder.names()
    assert names[0] == "RunStarted"
    assert names[1] == "PlanReady"
    assert names.count("SubtaskStarted") == 2
    assert names.count("SubtaskFinished") == 2
    assert "IntegrationStarted" in names
    deltas = [e for e in recorder.events if isinstance(e, IntegrationDelta)]
    assert len(deltas) > 1
    assert deltas[-1].text == "A" * 100
    assert isinstance(recorder.events[-1], RunFinished)
    assert result.answer == "A" * 100


async def test_transient_error_is_retried_and_reported(
    config: PipelineConfig, recorder: Recorder
) -> None:
    llm = ScriptedLLM(plan=simple_plan("g", 2), failures={"s1": [overloaded(0.02)]})
    result = await run_pipeline("goal", llm=llm, config=config, sink=recorder)
    assert result.status == "succeeded"
    retries = [e for e in recorder.events if isinstance(e, CallRetrying)]
    assert len(retries) == 1
    assert retries[0].subtask_id == "s1"
    assert retries[0].wait_s == pytest.approx(0.02)
    assert "overloaded" in retries[0].reason


async def test_retry_after_is_capped(config: PipelineConfig, recorder: Recorder) -> None:
    llm = ScriptedLLM(plan=simple_plan("g", 2), failures={"plan": [overloaded(3600)]})
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    await run_pipeline("goal", llm=llm, config=config, sink=recorder, sleep=sleep)
    assert slept == [config.retry_max_wait_s]


async def test_auth_error_is_not_retried_and_reads_as_invalid_key(
    config: PipelineConfig,
) -> None:
    auth = LLMError("Claude rejected the API key (401).", kind="auth", retryable=False, status=401)
    llm = ScriptedLLM(failures={"plan": [auth]})
    result = await run_pipeline("goal", llm=llm, config=config)
    assert result.status == "failed"
    assert "API key" in result.error
    assert len(llm.requests) == 1


async def test_all_subtasks_failing_never_calls_the_integrator(config: PipelineConfig) -> None:
    forever: dict[str, list[BaseException]] = {
        f"s{i}": [overloaded() for _ in range(10)] for i in (1, 2)
    }
    llm = ScriptedLLM(plan=simple_plan("g", 2), failures=forever)
    result = await run_pipeline("goal", llm=llm, config=config)
    assert result.status == "failed"
    assert result.error_kind == "AllSubtasksFailed"
    assert "Every subtask failed" in result.error
    assert llm.requests_for("integrator") == []
    assert len(llm.requests_for("subagent")) == 2 * config.max_attempts


async def test_usage_and_cost_sum_every_call(config: PipelineConfig) -> None:
    llm = ScriptedLLM(plan=simple_plan("g", 3))
    result = await run_pipeline("goal", llm=llm, config=config)
    by_role: dict[Role, Usage] = {}
    for request, reply in llm.replies:
        by_role[request.role] = by_role.get(request.role, Usage()) + reply.usage
    assert len(llm.replies) == 5
    assert dict(result.usage_by_role) == by_role
    assert result.usage == sum(by_role.values(), Usage())
    expected = 0.0
    for role, usage in by_role.items():
        cost = cost_of(usage, config.model_for(role), config)
        assert cost is not None
        expected += cost
    assert result.cost_usd == pytest.approx(expected)


def test_cost_uses_the_price_table_with_cache_multipliers(config: PipelineConfig) -> None:
    usage = Usage(1_000_000, 1_000_000, 1_000_000, 1_000_000)
    # Haiku 4.5: 1 in, 5 out, cache write 1.25, cache read 0.1 (US$/MTok)
    assert cost_of(usage, "claude-haiku-4-5", config) == pytest.approx(1 + 5 + 1.25 + 0.1)
    assert cost_of(usage, "claude-sonnet-4-6-20260101", config) == pytest.approx(
        3 + 15 + 3.75 + 0.3
    )
    assert cost_of(usage, "claude-unknown-9", config) is None


async def test_unknown_model_price_makes_cost_unknown_not_zero(config: PipelineConfig) -> None:
    odd = config.model_copy(update={"subagent_model": "claude-mystery"})
    result = await run_pipeline("goal", llm=ScriptedLLM(plan=simple_plan("g", 2)), config=odd)
    assert result.status == "succeeded"
    assert result.cost_usd is None


async def test_token_budget_stops_the_run_with_a_clear_message(config: PipelineConfig) -> None:
    tight = config.model_copy(update={"budget_tokens": 50})
    llm = ScriptedLLM(plan=simple_plan("g" * 200, 3))
    result = await run_pipeline("goal " * 20, llm=llm, config=tight)
    assert result.status == "failed"
    assert result.error_kind == "BudgetExceeded"
    assert "budget of 50" in result.error
    assert llm.requests_for("integrator") == []


async def test_empty_and_oversized_goals_are_refused_without_calls(config: PipelineConfig) -> None:
    llm = ScriptedLLM()
    empty = await run_pipeline("   ", llm=llm, config=config)
    huge = await run_pipeline("x" * (config.max_goal_chars + 1), llm=llm, config=config)
    assert empty.error_kind == huge.error_kind == "InvalidGoal"
    assert "empty" in empty.error
    assert "limit is 4,000" in huge.error
    assert llm.requests == []


async def test_a_failing_sink_never_fails_the_run(config: PipelineConfig) -> None:
    async def broken(event: object) -> None:
        raise RuntimeError("slack is down")

    result = await run_pipeline(
        "goal", llm=ScriptedLLM(plan=simple_plan("g", 2)), config=config, sink=broken
    )
    assert result.status == "succeeded"
