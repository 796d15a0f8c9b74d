"""Settings per workspace and channel (issue 24.4), the pure parts: a submission parsed (per
field errors), round-tripped through the modal's pre-filled values, the three levels merged
(blocked domains add up and win over allowed ones), and what changed, for the announcement.
Hypothesis: any submitted text is parsed without raising, and what is accepted round-trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.runs import channel_settings as cs
from bot.runs.settings_modal import settings_modal, submitted
from pipeline.domains import covers, domain_problem, narrowed_domains
from sandbox.fakes.slack_views import initial_values, view_problems


def env(**changes: object) -> Settings:
    return Settings.model_validate({"slack_bot_token": "xoxb-test", **changes})


def test_a_good_submission_parses_to_its_settings() -> None:
    parsed = cs.parse_submission(
        {
            cs.SCOPE: "channel",
            cs.INSTRUCTIONS: "  Answer as tables.  ",
            cs.ALLOWED: "docs.python.org\nexample.com/blog",
            cs.BLOCKED: "pinterest.com,  quora.com,",
            cs.BUDGET: "$7.50",
            cs.REVIEW: "off",
            cs.EFFORT: "deep",
        }
    )
    assert parsed.errors == {}
    assert parsed.settings == cs.LevelSettings(
        instructions="Answer as tables.",
        allowed=("docs.python.org", "example.com/blog"),
        blocked=("pinterest.com", "quora.com"),
        budget_usd=7.5,
        review=False,
        effort="deep",
    )


def test_each_bad_field_gets_its_own_message() -> None:
    parsed = cs.parse_submission(
        {
            cs.ALLOWED: "https://example.com",
            cs.BLOCKED: "example.com:8080",
            cs.BUDGET: "-1",
            cs.INSTRUCTIONS: "x" * 3001,
        }
    )
    assert set(parsed.errors) == {cs.ALLOWED, cs.BLOCKED, cs.BUDGET, cs.INSTRUCTIONS}
    assert "scheme" in parsed.errors[cs.ALLOWED]
    assert "port" in parsed.errors[cs.BLOCKED]
    assert "negative" in parsed.errors[cs.BUDGET]
    for amount in ("nan", "inf", "1e400", "100001", "12,50", "1_000"):
        assert cs.BUDGET in cs.parse_submission({cs.BUDGET: amount}).errors, amount
    assert cs.parse_submission({cs.BUDGET: "0"}).settings.budget_usd == 0.0


def test_blocked_domains_add_up_and_win_over_allowed_ones() -> None:
    workspace = cs.LevelSettings(blocked=("quora.com",), instructions="Be brief.")
    channel = cs.LevelSettings(
        allowed=("example.com", "python.org", "quora.com"), blocked=("docs.python.org",)
    )
    applied = cs.applied(env(web_blocked_domains="spam.example"), workspace, channel)
    # python.org has a blocked part and the API takes one list: dropped whole.
    assert applied.allowed == ("example.com",)
    assert applied.blocked == ()  # sent only without allowed ones
    assert applied.web
    assert applied.instructions == "Be brief."
    no_allowed = cs.applied(env(web_blocked_domains="spam.example"), workspace, cs.LevelSettings())
    assert no_allowed.blocked == ("spam.example", "quora.com")
    all_blocked = cs.applied(
        env(), cs.LevelSettings(), cs.LevelSettings(allowed=("quora.com",), blocked=("quora.com",))
    )
    assert not all_blocked.web  # nothing left to allow: no web rather than all of it


def test_the_channel_wins_then_the_workspace_then_the_environment() -> None:
    base = env(channel_daily_budget_usd=5, plan_review="always")
    assert cs.applied(base, cs.LevelSettings(), cs.LevelSettings()).budget_usd == 5
    workspace = cs.LevelSettings(budget_usd=3, review=False, effort="quick")
    channel = cs.LevelSettings(budget_usd=1)
    applied = cs.applied(base, workspace, channel)
    assert (applied.budget_usd, applied.review, applied.effort) == (1, False, "quick")
    assert cs.applied(base, cs.LevelSettings(), cs.LevelSettings()).review


def test_covers_reads_subdomains_and_paths() -> None:
    assert covers("example.com", "docs.example.com/a")
    assert covers("example.com/blog", "example.com/blog/2024")
    assert not covers("example.com/blog", "example.com/blogger")
    assert not covers("ample.com", "example.com")
    assert narrowed_domains(("a.example", "b.example"), ("x.b.example",)) == ("a.example",)


def test_changes_name_each_field() -> None:
    before = cs.LevelSettings(budget_usd=2)
    after = cs.LevelSettings(instructions="x", blocked=("a.com",), review=True)
    assert cs.changes(before, after) == [
        "standing instructions set",
        "blocked domains: a.com",
        "daily budget cleared",
        "plan review on",
    ]
    assert cs.changes(after, after) == []


def test_the_modal_is_one_slack_accepts_and_shows_the_settings() -> None:
    level = cs.LevelSettings(instructions="x" * 3000, allowed=("a.com",), budget_usd=0.5)
    view = settings_modal("C1", level, "channel", "note " * 1000)
    assert view_problems(view) == []
    shown = initial_values(view)
    assert shown[cs.ALLOWED] == "a.com"
    assert shown[cs.BUDGET] == "0.5"
    assert shown[cs.REVIEW] == "default"


def test_stored_json_that_makes_no_sense_is_not_set() -> None:
    junks: list[object] = [None, [], "x", {"budget_usd": True, "effort": "huge", "allowed": 3}]
    for junk in junks:
        assert cs.LevelSettings.from_json(junk) == cs.LevelSettings()
    assert cs.LevelSettings.from_json({"budget_usd": math.inf}).budget_usd is None
    assert cs.Applied.from_json("x") is None


_FIELDS = (cs.INSTRUCTIONS, cs.ALLOWED, cs.BLOCKED, cs.BUDGET)
_CHOICES = {
    cs.SCOPE: st.sampled_from(["channel", "workspace", "", "other"]),
    cs.REVIEW: st.sampled_from(["default", "on", "off", "maybe"]),
    cs.EFFORT: st.sampled_from(["default", "quick", "deep", "huge"]),
    cs.MEMBERS: st.sampled_from(["on", "off", ""]),
}
_ANY = st.text(st.characters(codec="utf-8"), max_size=400)
_DOMAIN = st.from_regex(
    r"[a-z0-9]{1,10}(\.[a-z-]{1,5}[a-z])?\.(com|org|xn--p1ai)(/[a-z%.~]{0,6})?", fullmatch=True
)
_DOMAINS = st.builds(
    lambda found, sep: sep.join(found),
    st.lists(_DOMAIN, max_size=6),
    st.sampled_from([", ", ",", "\n", " "]),
)
_AMOUNTS = st.from_regex(r"\$?[0-9]{0,10}(\.[0-9]{0,8})?", fullmatch=True)
_STRATEGIES = {
    cs.INSTRUCTIONS: _ANY,
    cs.ALLOWED: _DOMAINS | _ANY,
    cs.BLOCKED: _DOMAINS | _ANY,
    cs.BUDGET: _AMOUNTS | _ANY,
}


@settings(max_examples=300, deadline=None)
@given(
    texts=st.fixed_dictionaries({name: st.none() | _STRATEGIES[name] for name in _FIELDS}),
    choices=st.fixed_dictionaries({k: st.none() | v for k, v in _CHOICES.items()}),
)
@pytest.mark.slow
def test_any_submission_parses_without_raising_and_accepted_ones_round_trip(
    texts: dict[str, str | None], choices: dict[str, str | None]
) -> None:
    parsed = cs.parse_submission({**texts, **choices})
    for block, message in parsed.errors.items():
        assert block in _FIELDS
        assert 0 < len(message) <= 2000  # Slack shows a field's error in full
    if parsed.errors:
        return
    level = parsed.settings
    for entry in (*level.allowed, *level.blocked):
        assert domain_problem(entry) is None
    if level.budget_usd is not None:
        assert math.isfinite(level.budget_usd)
        assert 0 <= level.budget_usd <= cs.MAX_BUDGET_USD
    again = cs.parse_submission(cs.form_values(level, parsed.scope))
    assert again.errors == {}
    assert (again.scope, again.settings) == (parsed.scope, level)
    assert cs.LevelSettings.from_json(level.to_json()) == level
    # Through the modal as Slack would submit it unchanged.
    view = settings_modal("C1", level, parsed.scope, "note")
    assert view_problems(view) == []
    state = {
        block: {"value": {"type": "x", "value": value or None}}
        for block, value in initial_values(view).items()
    }
    assert cs.parse_submission(submitted({"state": {"values": state}})).settings == level
