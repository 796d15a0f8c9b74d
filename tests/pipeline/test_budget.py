"""Budgets hold under parallel calls: every call reserves its worst case first, then settles."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math

import pytest

from pipeline import (
    BudgetExceeded,
    LLMError,
    LLMReply,
    LLMRequest,
    Message,
    PipelineConfig,
    SubtaskStarted,
    cost_of,
    run_pipeline,
    usd_text,
)
from pipeline.budget import RunBudgets, estimate_input_tokens, worst_case_usage, worst_case_usd
from pipeline.testing import FunctionLLM, ScriptedLLM, estimate_usage, simple_plan
from pipeline.usage import RunUsage
from tests.pipeline.conftest import Recorder

REFUSAL = "Your test budget has no room left."


class Ledger:
    """A fake outer budget: atomic like the store's, with a log of what happened."""

    def __init__(self, limit: float = math.inf) -> None:
        self.limit = limit
        self.spent = 0.0
        self.held = 0.0
        self.peak = 0.0  # the most ever spent and held at once
        self.log: list[tuple[str, float]] = []

    async def reserve(self, usd: float) -> Hold:
        await asyncio.sleep(0)  # a real budget awaits its database
        if self.spent + self.held + usd > self.limit:
            self.log.append(("refused", usd))
            raise BudgetExceeded(REFUSAL)
        self.held += usd
        self.peak = max(self.peak, self.spent + self.held)
        self.log.append(("reserve", usd))
        return Hold(self, usd)

    def amounts(self, kind: str) -> list[float]:
        return [usd for what, usd in self.log if what == kind]


class Hold:
    def __init__(self, ledger: Ledger, usd: float) -> None:
        self.ledger, self.usd = ledger, usd

    async def settle(self, actual_usd: float) -> None:
        await asyncio.sleep(0)
        self.ledger.held -= self.usd
        self.ledger.spent += actual_usd
        self.ledger.log.append(("settle", actual_usd))


def logging_llm(ledger: Ledger, llm: ScriptedLLM) -> FunctionLLM:
    """`llm`, writing each call into the ledger's log as it starts."""

    async def respond(request: LLMRequest) -> LLMReply:
        ledger.log.append(("call", 0.0))
        return await llm.complete(request)

    return FunctionLLM(respond)


def at_worst(config: PipelineConfig, latency: float = 0.0) -> FunctionLLM:
    """Every call uses all it may: it costs exactly what it reserved."""

    async def respond(request: LLMRequest) -> LLMReply:
        await asyncio.sleep(latency if request.role == "subagent" else 0.0)
        match request.role:
            case "orchestrator":
                text = json.dumps(simple_plan(request.messages[0].content, 5))
            case _:
                text = f"Result of {request.label}."
        return LLMReply(text, worst_case_usage(request), request.model, "end_turn")

    return FunctionLLM(respond)


def test_a_budget_reservation_is_the_call_s_worst_case(config: PipelineConfig) -> None:
    request = LLMRequest(
        role="subagent",
        model="claude-haiku-4-5",
        system="s" * 300,
        messages=(Message("user", "u" * 600),),
        max_tokens=1000,
    )
    worst = worst_case_usage(request)
    assert worst.output_tokens == 1000
    assert worst.input_tokens >= 300  # 900 characters at 3 a token, and the framing
    # Haiku: $1 in (x1.25 if the system prompt is written to the cache), $5 out per MTok.
    expected = (worst.input_tokens * 1.25 + 1000 * 5) / 1_000_000
    assert worst_case_usd(request, config) == pytest.approx(expected)
    assert worst_case_usd(dataclasses.replace(request, model="x"), config) is None


@pytest.mark.parametrize("text", ["plain English words " * 50, "日本語の文章" * 80, "🎉👍🏽" * 90])
def test_the_input_estimate_errs_high(text: str) -> None:
    request = LLMRequest("subagent", "m", "", (Message("user", text),), 10)
    # The fakes count 4 characters a token; real tokenizers take at most a token per
    # character outside ASCII and far less in English.
    assert estimate_input_tokens(request) >= estimate_usage(request, "").input_tokens
    if not text.isascii():
        assert estimate_input_tokens(request) >= len(text)


def test_dollars_read_well_for_people() -> None:
    assert usd_text(5) == "$5.00"
    assert usd_text(1234.5) == "$1,234.50"
    assert usd_text(0.12) == "$0.12"
    assert usd_text(0.05) == "$0.05"
    assert usd_text(0.0123) == "$0.0123"
    assert usd_text(0.00001) == "$0.00"
    assert usd_text(0) == "$0.00"


async def test_every_call_reserves_before_it_starts_and_settles_to_its_cost(
    config: PipelineConfig,
) -> None:
    ledger = Ledger()
    scripted = ScriptedLLM(plan=simple_plan("g", 3))
    llm = logging_llm(ledger, scripted)
    result = await run_pipeline("goal", llm=llm, config=config, budget=ledger)

    assert result.status == "succeeded"
    calls = len(llm.requests)
    assert calls == 5  # plan, three subagents, integrator
    kinds = [what for what, _ in ledger.log]
    assert kinds.count("reserve") == kinds.count("settle") == calls
    reserves = [i for i, k in enumerate(kinds) if k == "reserve"]
    starts = [i for i, k in enumerate(kinds) if k == "call"]
    assert all(r < s for r, s in zip(reserves, starts, strict=True))
    worst = sorted(worst_case_usd(request, config) or 0 for request in llm.requests)
    assert sorted(ledger.amounts("reserve")) == pytest.approx(worst)
    costs = sorted(cost_of(reply.usage, req.model, config) or 0 for req, reply in llm.replies)
    assert sorted(ledger.amounts("settle")) == pytest.approx(costs)
    assert ledger.spent == pytest.approx(result.cost_usd)
    assert ledger.held == pytest.approx(0)


async def test_a_retry_reserves_again_and_a_refused_try_costs_nothing(
    config: PipelineConfig,
) -> None:
    overloaded = LLMError("Claude is overloaded (529).", kind="overloaded", retryable=True)
    ledger = Ledger()
    llm = ScriptedLLM(plan=simple_plan("g", 2), failures={"s1": [overloaded]})
    result = await run_pipeline("goal", llm=llm, config=config, budget=ledger)

    assert result.status == "succeeded"
    assert len(ledger.amounts("reserve")) == len(llm.requests) == 5
    assert ledger.amounts("settle").count(0.0) == 1
    assert ledger.spent == pytest.approx(result.cost_usd)


async def test_parallel_subagents_never_overshoot_an_outer_budget(
    config: PipelineConfig, recorder: Recorder
) -> None:
    probe = Ledger()
    await run_pipeline("goal", llm=at_worst(config), config=config, budget=probe)
    plan_usd, sub_usd = probe.amounts("reserve")[0], max(probe.amounts("reserve")[1:6])
    # Room for the plan and two and a half subagents: five would all start at once.
    ledger = Ledger(limit=plan_usd + 2.5 * sub_usd)
    llm = at_worst(config, latency=0.05)

    result = await run_pipeline("goal", llm=llm, config=config, sink=recorder, budget=ledger)

    assert result.status == "failed"
    assert result.error_kind == "BudgetExceeded"
    assert result.error == REFUSAL
    assert ledger.peak <= ledger.limit
    assert ledger.spent <= ledger.limit
    spent = sum(cost_of(reply.usage, req.model, config) or 0 for req, reply in llm.replies)
    assert spent <= ledger.limit
    assert llm.max_in_flight == 2
    assert len(llm.requests_for("subagent")) == 2
    assert llm.requests_for("integrator") == []


async def test_a_call_that_does_not_fit_waits_for_the_run_s_calls_in_flight(
    config: PipelineConfig,
) -> None:
    # Each subagent may cost $0.041 and really costs far less: they fit one at a time.
    wide = config.model_copy(update={"subagent_max_tokens": 8192})
    ledger = Ledger(limit=0.07)
    llm = ScriptedLLM(plan=simple_plan("g", 5), latency={"subagent": 0.02})

    result = await run_pipeline("goal", llm=llm, config=wide, budget=ledger)

    assert result.status == "succeeded", result.error
    assert llm.max_in_flight == 1
    assert ledger.peak <= ledger.limit
    assert "refused" in [what for what, _ in ledger.log]  # it did not fit, and waited


async def test_holds_refused_together_all_give_up_and_none_waits_for_ever(
    config: PipelineConfig,
) -> None:
    # Three paused turns of one run ask to continue at once and none fits: each refusal but
    # the last leaves another still asking, so they wait; the last must wake them.
    budgets = RunBudgets("run1", config, RunUsage(config), Ledger(limit=0.0))
    request = LLMRequest(
        role="subagent",
        model="claude-haiku-4-5",
        system="s",
        messages=(Message("user", "u"),),
        max_tokens=100,
    )
    async with asyncio.timeout(2):
        outcomes = await asyncio.gather(
            *(budgets.hold(request) for _ in range(3)), return_exceptions=True
        )
    assert [type(o) for o in outcomes] == [BudgetExceeded] * 3


async def test_the_run_s_own_dollar_budget_is_reserved_the_same_way(
    config: PipelineConfig,
) -> None:
    probe = Ledger()
    await run_pipeline("goal", llm=at_worst(config), config=config, budget=probe)
    plan_usd, sub_usd = probe.amounts("reserve")[0], max(probe.amounts("reserve")[1:6])
    tight = config.model_copy(update={"budget_usd": plan_usd + 2.5 * sub_usd})
    llm = at_worst(tight, latency=0.05)

    result = await run_pipeline("goal", llm=llm, config=tight)

    assert result.status == "failed"
    assert result.error_kind == "BudgetExceeded"
    assert f"its budget of {usd_text(plan_usd + 2.5 * sub_usd)} has " in result.error
    assert "not enough for the next call" in result.error
    assert result.cost_usd is not None
    assert result.cost_usd <= plan_usd + 2.5 * sub_usd
    assert llm.max_in_flight == 2


async def test_the_run_s_own_token_budget_never_lets_parallel_calls_cross_it(
    config: PipelineConfig,
) -> None:
    llm = at_worst(config, latency=0.05)
    limit = 8000  # the plan (about 5,000) and one subagent (about 2,300), not two
    result = await run_pipeline(
        "goal", llm=llm, config=config.model_copy(update={"budget_tokens": limit})
    )

    assert result.error_kind == "BudgetExceeded"
    assert f"its budget of {limit:,} tokens has" in result.error
    assert result.usage.total <= limit
    assert llm.max_in_flight == 1


async def test_a_cancelled_call_keeps_its_worst_case_and_a_refused_one_costs_nothing(
    config: PipelineConfig, recorder: Recorder
) -> None:
    ledger = Ledger()
    llm = ScriptedLLM(plan=simple_plan("g", 2), latency={"subagent": 30})
    run = asyncio.create_task(
        run_pipeline("goal", llm=llm, config=config, sink=recorder, budget=ledger)
    )
    await recorder.wait_for(SubtaskStarted, 2)
    await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    held = ledger.amounts("reserve")
    settled = ledger.amounts("settle")
    assert len(held) == len(settled) == 3
    assert sorted(settled[1:]) == pytest.approx(sorted(held[1:]))  # Claude may have billed
    assert ledger.held == pytest.approx(0)

    refused = Ledger()
    auth = LLMError("Claude rejected the API key (401).", kind="auth", retryable=False)
    await run_pipeline(
        "goal", llm=ScriptedLLM(failures={"plan": [auth]}), config=config, budget=refused
    )
    assert refused.amounts("settle") == [0.0]


async def test_a_timed_out_call_keeps_its_worst_case(config: PipelineConfig) -> None:
    ledger = Ledger()
    quick = config.model_copy(update={"call_timeout_s": 0.05, "max_attempts": 1})
    llm = ScriptedLLM(plan=simple_plan("g", 2), latency={"s1": 5})
    result = await run_pipeline("goal", llm=llm, config=quick, budget=ledger)

    assert result.status == "partial"
    assert ledger.spent > (result.cost_usd or 0)  # s1's worst case is counted, unreported
    assert ledger.held == pytest.approx(0)


async def test_a_model_without_a_price_reserves_nothing_and_says_so(
    config: PipelineConfig, caplog: pytest.LogCaptureFixture
) -> None:
    odd = config.model_copy(update={"subagent_model": "claude-mystery"})
    ledger = Ledger()
    with caplog.at_level(logging.WARNING, logger="pipeline.budget"):
        result = await run_pipeline(
            "goal", llm=ScriptedLLM(plan=simple_plan("g", 3)), config=odd, budget=ledger
        )

    assert result.status == "succeeded"
    assert len(ledger.amounts("reserve")) == 2  # the plan and the integrator only
    warnings = [r.getMessage() for r in caplog.records if "claude-mystery" in r.getMessage()]
    assert len(warnings) == 1
    assert "ORCHESTRA_PRICES" in warnings[0]
