"""Effort reshapes a run's limits; a plan's estimate comes from the plan, the prices and
the history of similar runs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import PipelineConfig, Plan, Usage
from pipeline.effort import with_effort
from pipeline.estimate import (
    HISTORY_MIN,
    Estimate,
    Past,
    basis,
    correction,
    estimate,
    estimate_text,
)
from pipeline.testing import simple_plan


def test_quick_is_two_subtasks_small_caps_and_no_web_fetch() -> None:
    config = PipelineConfig(max_subtasks=6)
    quick = with_effort(config, "quick")
    assert (quick.min_subtasks, quick.max_subtasks) == (2, 2)
    assert not quick.web_fetch
    assert quick.subagent_max_tokens < config.subagent_max_tokens
    assert quick.integrator_max_tokens < config.integrator_max_tokens


def test_deep_goes_up_to_the_configured_most_with_larger_caps() -> None:
    config = PipelineConfig(max_subtasks=6)
    deep = with_effort(config, "deep")
    assert deep.max_subtasks == 6
    assert deep.min_subtasks == 3
    assert deep.subagent_max_tokens == 2 * config.subagent_max_tokens
    assert deep.integrator_max_tokens == 2 * config.integrator_max_tokens
    assert with_effort(config, None) is config


@given(st.integers(2, 20), st.integers(64, 128_000), st.sampled_from(["quick", "deep", None]))
def test_every_effort_gives_a_valid_config(most: int, tokens: int, effort: str | None) -> None:
    config = PipelineConfig(max_subtasks=most, subagent_max_tokens=tokens)
    changed = PipelineConfig.model_validate(with_effort(config, effort).model_dump())
    assert 2 <= changed.min_subtasks <= changed.max_subtasks <= most


def _plan(count: int, **kwargs: object) -> Plan:
    return Plan.model_validate(simple_plan("g", count, **kwargs), context={"max": 20})  # type: ignore[arg-type]


def test_a_bigger_plan_costs_more_and_a_chain_takes_longer() -> None:
    config = PipelineConfig()
    small, _ = basis(_plan(2), config)
    big, _ = basis(_plan(5), config)
    assert small is not None
    assert big is not None
    assert big > small
    _, flat = basis(_plan(3), config)
    _, chain = basis(_plan(3, depends={"s2": ["s1"], "s3": ["s2"]}), config)
    assert chain > flat


def test_done_subtasks_are_not_estimated_again() -> None:
    config = PipelineConfig()
    whole, _ = basis(_plan(3), config)
    rest, _ = basis(_plan(3), config, done={"s1", "s2"})
    assert whole is not None
    assert rest is not None
    assert rest < whole


def test_an_unknown_price_makes_the_cost_unknown() -> None:
    config = PipelineConfig(subagent_model="claude-unknown-1")
    assert estimate(_plan(2), config).usd is None


def test_history_corrects_the_basis_by_the_median_ratio() -> None:
    config = PipelineConfig()
    plan = _plan(3)
    base = estimate(plan, config)
    assert base.usd == base.basis_usd  # no history: the basis alone
    history = [Past(1.0, 10.0, 0.5, 30.0)] * HISTORY_MIN
    corrected = estimate(plan, config, history=history)
    assert corrected.basis_usd == base.basis_usd
    assert corrected.usd == pytest.approx(base.usd * 0.5)  # type: ignore[operator]
    assert corrected.seconds == pytest.approx(base.seconds * 3)


def test_too_little_history_changes_nothing() -> None:
    assert correction([Past(1.0, 1.0, 9.0, 9.0)] * (HISTORY_MIN - 1)) == (1.0, 1.0)
    assert correction([Past(None, None, 1.0, 1.0)] * 10) == (1.0, 1.0)


def test_planning_cost_counts() -> None:
    config = PipelineConfig()
    without, _ = basis(_plan(2), config)
    planned, _ = basis(_plan(2), config, Usage(10_000, 2_000))
    assert without is not None
    assert planned is not None
    assert planned > without


def test_the_estimate_in_words() -> None:
    assert estimate_text(Estimate(0.042, 75, 0.04, 70)) == "Estimate: about $0.04 and 75 s"
    assert estimate_text(Estimate(0.001, 600, 0.0, 0)) == "Estimate: under $0.01 and 10 min"
    assert estimate_text(Estimate(None, 5, None, 5)).startswith("Estimate: an unknown cost")
