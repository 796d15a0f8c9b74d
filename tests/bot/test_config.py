"""One configuration model: every knob declared once, each documented variable reaches it."""

from __future__ import annotations

import math
import re
import typing
from datetime import date
from pathlib import Path
from typing import Any

import anthropic
import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from bot.config import Settings
from pipeline import PipelineConfig
from pipeline.config import DEFAULT_PRICES, END_OF_LIFE, ModelPrice
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
    "web_fetch_max_content_tokens": ("5000", 5000),
    "web_allowed_domains": ("example.com, example.org", ("example.com", "example.org")),
    "web_blocked_domains": ("", ()),  # not with the allowed list: checked below
    "web_fetch": ("off", False),
    "run_deadline_s": ("120", 120.0),
    "subagent_timeout_s": ("30", 30.0),
    "follow_ups": ("2", 2),
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


# The few knobs whose deployed default differs from the library's, each on purpose: the app
# suggests follow-ups under its answers; the library (its CLI aside) and its tests opt in.
APP_DEFAULTS = {"follow_ups": 3}


def test_the_pipeline_settings_declare_no_pipeline_knob_of_their_own() -> None:
    own = set(PipelineSettings.model_fields) - set(PipelineConfig.model_fields)
    assert own == {"anthropic_api_key", "anthropic_base_url", "demo_speed"}
    for name, field in PipelineConfig.model_fields.items():
        inherited = PipelineSettings.model_fields[name]
        assert inherited.default == APP_DEFAULTS.get(name, field.default), name
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


# --- Every number finite and in a sane range (issue 19.10) --------------------------------


def numeric_fields(model: type[BaseModel]) -> list[str]:
    """The int and float fields of a model (optional ones too; bool is not a number here)."""
    found = []
    for name, info in model.model_fields.items():
        kinds = set(typing.get_args(info.annotation)) - {type(None)} or {info.annotation}
        if kinds <= {int, float}:
            found.append(name)
    return found


def bounded(info: FieldInfo, *sides: str) -> bool:
    return any(getattr(rule, side, None) is not None for rule in info.metadata for side in sides)


@pytest.mark.parametrize("model", [Settings, ModelPrice])
def test_every_number_of_the_configuration_is_finite_and_bounded_on_both_sides(
    model: type[BaseModel],
) -> None:
    assert model.model_config.get("allow_inf_nan") is False
    assert numeric_fields(model)
    for name in numeric_fields(model):
        info = model.model_fields[name]
        assert bounded(info, "ge", "gt"), f"{name} has no lower bound"
        assert bounded(info, "le", "lt"), f"{name} has no upper bound"


@pytest.mark.parametrize("field", numeric_fields(Settings))
@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "1e999", "1" + "0" * 30])
def test_an_infinite_nan_or_absurd_number_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, field: str, raw: str
) -> None:
    name = env_name(Settings, field)
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    assert name in settings_problem(Settings, refused.value)


@pytest.mark.parametrize("amount", ["Infinity", "-Infinity", "NaN", "1e999", "1e6"])
@pytest.mark.parametrize("part", ["input", "output", "cache_read_multiplier"])
def test_a_price_that_is_no_finite_amount_is_refused_naming_the_model(
    monkeypatch: pytest.MonkeyPatch, amount: str, part: str
) -> None:
    # An infinite price made every cost "$nan" and recorded no spend.
    price = {"input": "1", "output": "5", part: amount}
    entries = ", ".join(f'"{key}": {value}' for key, value in price.items())
    monkeypatch.setenv("ORCHESTRA_PRICES", f'{{"claude-x": {{{entries}}}}}')
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    problem = settings_problem(Settings, refused.value)
    assert "ORCHESTRA_PRICES" in problem
    assert f"claude-x {part}" in problem


# --- Domain lists (issue 20.1.8; the parser's properties: tests/pipeline/test_domains.py) ---


@pytest.mark.parametrize("name", ["ORCHESTRA_WEB_ALLOWED_DOMAINS", "ORCHESTRA_WEB_BLOCKED_DOMAINS"])
def test_a_url_in_a_domain_list_is_refused_naming_the_variable_and_the_entry(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "example.org, https://x.com")
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    problem = settings_problem(Settings, refused.value)
    assert problem.startswith(f"Invalid configuration: {name}: 'https://x.com' is not a domain")
    assert "scheme" in problem


# --- Empty values (.env.example's `SLACK_BOT_TOKEN=`) -------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ORCHESTRA_REDIS_URL",
    ],
)
def test_an_empty_secret_or_url_is_as_good_as_unset(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # An empty SLACK_APP_TOKEN chose Socket Mode with no token.
    unset = Settings(_env_file=None)
    monkeypatch.setenv(name, "")
    assert Settings(_env_file=None).model_dump() == unset.model_dump()


@pytest.mark.parametrize(
    ("given", "present", "absent"),
    [
        (
            {"SLACK_BOT_TOKEN": "xoxb-1"},
            ["SLACK_BOT_TOKEN"],
            ["SLACK_APP_TOKEN (Socket Mode)", "SLACK_SIGNING_SECRET (HTTP mode)"],
        ),
        ({"SLACK_APP_TOKEN": "xapp-1"}, ["SLACK_APP_TOKEN"], ["SLACK_BOT_TOKEN"]),
        (
            {"SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": "xapp-1"},
            ["SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"],
            ["SLACK_BOT_TOKEN"],
        ),
    ],
)
def test_half_a_slack_configuration_names_what_is_set_and_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
    given: dict[str, str],
    present: list[str],
    absent: list[str],
) -> None:
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).slack_incomplete() == (present, absent)


@pytest.mark.parametrize(
    "given",
    [{}, {"SLACK_BOT_TOKEN": ""}, {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}],
)
def test_no_slack_configuration_or_a_whole_one_is_not_incomplete(
    monkeypatch: pytest.MonkeyPatch, given: dict[str, str]
) -> None:
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).slack_incomplete() is None


# --- Prices and deprecations (issue 20.1.10) -----------------------------------------------

# Listed by the SDK without a public list price (a research preview for invited organisations).
NO_LIST_PRICE = {"claude-mythos-preview"}


def sdk_models() -> list[str]:
    """Every model id the installed anthropic SDK names (`anthropic.types.Model`)."""
    names = typing.get_args(typing.get_args(anthropic.types.Model)[0])
    assert names, "the SDK's Model type changed shape"
    return [str(name) for name in names]


def test_every_model_the_sdk_names_has_a_price() -> None:
    # A newer SDK naming a model the table lacks fails here: that model's cost would be
    # "unknown" and a budget with it refused at start.
    unpriced = [m for m in sdk_models() if m not in NO_LIST_PRICE and m not in DEFAULT_PRICES]
    dated = [m for m in unpriced if PipelineConfig().price_for(m) is None]
    assert dated == []


@pytest.mark.parametrize(
    ("model", "per_mtok", "cache_read"),
    [
        ("claude-opus-5-5", (4, 20), 0.20),
        ("claude-sonnet-5-5", (2, 10), 0.10),
        ("claude-haiku-5-5", (0.1, 0.5), 0.01),
        ("claude-fable-5-2", (8, 40), 0.20),
        ("claude-fable-5-1", (10, 50), 0.25),
        ("claude-opus-4-5-20251101", (5, 25), 0.50),
        ("claude-haiku-4-5-20251001", (1, 5), 0.10),
    ],
)
def test_list_prices_per_million_tokens(
    model: str, per_mtok: tuple[float, float], cache_read: float
) -> None:
    price = PipelineConfig().price_for(model)
    assert price is not None
    assert (price.input, price.output) == per_mtok
    assert math.isclose(price.input * price.cache_read_multiplier, cache_read)


def test_a_deprecated_model_is_named_once_with_its_roles_and_end_of_life() -> None:
    config = PipelineConfig(
        orchestrator_model="claude-opus-4-5",
        subagent_model="claude-haiku-4-5",
        integrator_model="claude-opus-4-5",
    )
    eol = date(2027, 1, 22)
    assert config.deprecated_models() == [("claude-opus-4-5", ("orchestrator", "integrator"), eol)]
    dated = PipelineConfig(subagent_model="claude-opus-4-5-20251101")
    assert dated.deprecated_models() == [("claude-opus-4-5-20251101", ("subagent",), eol)]


def test_the_default_models_are_not_deprecated() -> None:
    assert PipelineConfig().deprecated_models() == []
    assert END_OF_LIFE["claude-opus-4-5"] == date(2027, 1, 22)
