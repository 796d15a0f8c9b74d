"""One configuration model: every knob declared once, each documented variable reaches it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import Settings
from pipeline import PipelineConfig
from pipeline.settings import PipelineSettings, env_name, settings_problem

ROOT = Path(__file__).resolve().parents[2]
# Read by the sandbox's own entry point, not by the app's settings.
NOT_SETTINGS = {"ORCHESTRA_SANDBOX_PORT"}

# A value unlike the default for each pipeline knob, as it is written in the environment.
PIPELINE_ENV: dict[str, tuple[str, Any]] = {
    "orchestrator_model": ("claude-opus-4-6", "claude-opus-4-6"),
    "subagent_model": ("claude-sonnet-4-5", "claude-sonnet-4-5"),
    "integrator_model": ("claude-opus-4-5", "claude-opus-4-5"),
    "min_subtasks": ("3", 3),
    "max_subtasks": ("7", 7),
    "concurrency": ("3", 3),
    "call_timeout_s": ("9.5", 9.5),
    "max_attempts": ("2", 2),
    "retry_initial_wait_s": ("0.25", 0.25),
    "retry_max_wait_s": ("4", 4.0),
    "plan_max_tokens": ("1024", 1024),
    "subagent_max_tokens": ("512", 512),
    "integrator_max_tokens": ("2048", 2048),
    "budget_tokens": ("90000", 90000),
    "budget_usd": ("1.5", 1.5),
    "max_goal_chars": ("500", 500),
    "max_context_chars": ("100", 100),
    "prices": ('{"claude-x": {"input": 2, "output": 4}}', None),  # checked below
    "web_search": ("off", False),
    "web_search_max_uses": ("2", 2),
    "web_allowed_domains": ("example.com, example.org", ("example.com", "example.org")),
    "web_blocked_domains": ("", ()),  # not with the allowed list: checked below
}


def documented(path: Path) -> set[str]:
    """The ORCHESTRA_* variables a file names."""
    return set(re.findall(r"\bORCHESTRA_[A-Z0-9_]+[A-Z0-9]", path.read_text()))


def readme_table() -> set[str]:
    """The variables of the README's Configuration table."""
    return {
        match
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("| `")
        for match in re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", line)
    }


def setting_names() -> set[str]:
    """Every variable the app's settings read."""
    return {env_name(Settings, field) for field in Settings.model_fields}


def test_the_pipeline_settings_declare_no_pipeline_knob_of_their_own() -> None:
    own = set(PipelineSettings.model_fields) - set(PipelineConfig.model_fields)
    assert own == {"anthropic_api_key", "anthropic_base_url"}
    for name, field in PipelineConfig.model_fields.items():
        inherited = PipelineSettings.model_fields[name]
        assert inherited.default == field.default, name
        assert inherited.metadata == field.metadata, name  # same bounds: no drift


def test_the_bot_settings_hold_only_bot_knobs_beside_the_pipeline_s() -> None:
    bot_only = set(Settings.model_fields) - set(PipelineSettings.model_fields)
    assert bot_only.isdisjoint(PipelineConfig.model_fields)
    assert {"max_live_runs", "max_runs_per_user"} <= bot_only
    assert {"user_daily_budget_usd", "channel_daily_budget_usd"} <= bot_only


def test_every_documented_variable_is_a_setting_and_every_setting_is_documented() -> None:
    table = readme_table()
    example = documented(ROOT / ".env.example")
    names = setting_names()
    assert {n for n in table if n.startswith("ORCHESTRA_")} - NOT_SETTINGS <= names
    assert names <= table, f"undocumented in the README: {sorted(names - table)}"
    orchestra = {n for n in names if n.startswith("ORCHESTRA_")}
    assert orchestra <= example, f"missing in .env.example: {sorted(orchestra - example)}"


def test_each_pipeline_variable_reaches_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(PIPELINE_ENV) == set(PipelineConfig.model_fields)
    for field, (raw, _) in PIPELINE_ENV.items():
        monkeypatch.setenv(env_name(Settings, field), raw)
    config = Settings(_env_file=None).pipeline_config()
    assert type(config) is PipelineConfig
    for field, (_, expected) in PIPELINE_ENV.items():
        if expected is not None:
            assert getattr(config, field) == expected, field
    price = config.price_for("claude-x")
    assert price is not None
    assert (price.input, price.output) == (2, 4)
    assert price.web_search_per_1000 == 10  # the default: $10 per 1,000 searches


def test_both_web_domain_lists_are_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORCHESTRA_WEB_BLOCKED_DOMAINS", "bad.example")
    assert Settings(_env_file=None).pipeline_config().web_blocked_domains == ("bad.example",)
    monkeypatch.setenv("ORCHESTRA_WEB_ALLOWED_DOMAINS", "good.example")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    problem = settings_problem(Settings, caught.value)
    assert "ORCHESTRA_WEB_ALLOWED_DOMAINS" in problem
    assert "ORCHESTRA_WEB_BLOCKED_DOMAINS" in problem


def test_the_bot_s_fair_share_variables_reach_its_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORCHESTRA_MAX_LIVE_RUNS", "4")
    monkeypatch.setenv("ORCHESTRA_MAX_RUNS_PER_USER", "2")
    monkeypatch.setenv("ORCHESTRA_USER_DAILY_BUDGET_USD", "5")
    monkeypatch.setenv("ORCHESTRA_CHANNEL_DAILY_BUDGET_USD", "20.5")
    settings = Settings(_env_file=None)
    assert settings.max_live_runs == 4
    assert settings.max_runs_per_user == 2
    assert settings.user_daily_budget_usd == 5
    assert settings.channel_daily_budget_usd == 20.5


def test_daily_budgets_are_unset_by_default() -> None:
    settings = Settings(_env_file=None)
    assert settings.user_daily_budget_usd is None
    assert settings.channel_daily_budget_usd is None


@pytest.mark.parametrize("kind", [PipelineConfig, PipelineSettings, Settings])
def test_a_one_subtask_plan_is_refused_by_every_form_of_the_config(kind: type[Any]) -> None:
    with pytest.raises(ValidationError):
        kind(max_subtasks=1)


def test_a_dollar_budget_without_a_price_is_named_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORCHESTRA_SUBAGENT_MODEL", "claude-mystery")
    monkeypatch.setenv("ORCHESTRA_USER_DAILY_BUDGET_USD", "5")
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    sentence = settings_problem(Settings, refused.value)
    assert "claude-mystery" in sentence
    assert "ORCHESTRA_PRICES" in sentence
    monkeypatch.setenv("ORCHESTRA_PRICES", '{"claude-mystery": {"input": 1, "output": 1}}')
    assert Settings(_env_file=None).user_daily_budget_usd == 5


def test_an_unknown_model_without_a_budget_is_allowed() -> None:
    assert PipelineConfig(subagent_model="claude-mystery").price_for("claude-mystery") is None
