"""Settings per workspace and per channel (issue 24.4): what they hold, how a submitted text
becomes one (or a message per field), and what a run in a channel uses.

Three levels, the most particular winning: the environment (the deployment's defaults), the
workspace's defaults, the channel's own. A field left empty in a channel (or "workspace
default" chosen) takes the workspace's value, then the environment's. Two exceptions, so no
level can undo a rule of a wider one: blocked domains add up (the environment's, the
workspace's and the channel's, and blocked wins over allowed), and standing instructions of
the workspace and the channel are both given, the workspace's first.

Pure: no Slack, no store."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, TypeVar

from bot.config import Settings
from bot.render.text import INPUT_VALUE_LIMIT
from pipeline.domains import domain_problem, narrowed_domains
from pipeline.effort import Effort, is_effort

Scope = Literal["channel", "workspace"]
_T = TypeVar("_T")

# The modal's block ids; a per-field error is keyed by them (Slack's `response_action`).
INSTRUCTIONS, ALLOWED, BLOCKED, BUDGET = "instructions", "allowed", "blocked", "budget"
REVIEW, EFFORT, SCOPE, MEMBERS = "review", "effort", "scope", "members"

# Bounds of what a person may type: the modal's inputs hold 3,000 characters each; a budget
# is a dollar amount like the environment's (ORCHESTRA_CHANNEL_DAILY_BUDGET_USD, ≤ 100,000).
MAX_DOMAINS = 100
MAX_BUDGET_USD = 100_000.0
_AMOUNT = re.compile(r"\$?\s*(\d{1,9}(?:\.\d{1,6})?|\.\d{1,6})")
# Domains may be separated by commas, spaces or lines (as people paste them).
_SEPARATORS = re.compile(r"[,\s]+")


@dataclass(frozen=True, slots=True)
class LevelSettings:
    """One level's own settings (a channel's or the workspace's defaults); None and empty
    mean "not set here": the wider level decides."""

    instructions: str = ""
    allowed: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    budget_usd: float | None = None  # the channel's daily budget (workspace: each channel's)
    review: bool | None = None
    effort: Effort | None = None  # None: not set here ("default" is not an effort)
    members_may_change: bool | None = None  # the workspace's alone; None: off

    def to_json(self) -> dict[str, object]:
        """As stored (a JSON object)."""
        return {
            "instructions": self.instructions,
            "allowed": list(self.allowed),
            "blocked": list(self.blocked),
            "budget_usd": self.budget_usd,
            "review": self.review,
            "effort": self.effort,
            "members_may_change": self.members_may_change,
        }

    @classmethod
    def from_json(cls, data: object) -> LevelSettings:
        """From storage; anything unreadable is "not set" (never raises)."""
        if not isinstance(data, Mapping):
            return cls()
        budget = data.get("budget_usd")
        effort = data.get("effort")
        return cls(
            instructions=str(data.get("instructions") or ""),
            allowed=_strings(data.get("allowed")),
            blocked=_strings(data.get("blocked")),
            budget_usd=float(budget)
            if isinstance(budget, int | float)
            and not isinstance(budget, bool)
            and math.isfinite(budget)
            and 0 <= budget <= MAX_BUDGET_USD
            else None,
            review=_flag(data.get("review")),
            effort=effort if isinstance(effort, str) and is_effort(effort) else None,
            members_may_change=_flag(data.get("members_may_change")),
        )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Applied:
    """What a run in a channel uses, the three levels merged; recorded with the run, so a
    resumed run uses the same whatever changed since."""

    instructions: str = ""  # "" : none
    allowed: tuple[str, ...] = ()  # the web tools' allowed_domains ((): any)
    blocked: tuple[str, ...] = ()  # their blocked_domains (sent only without allowed ones)
    web: bool = True  # False: every allowed domain was blocked, so no web at all
    budget_usd: float | None = None  # the channel's daily budget (None: none)
    review: bool = False  # a request without --review / --no-review
    effort: Effort | None = None  # a request without --quick / --deep

    def to_json(self) -> dict[str, object]:
        """As recorded with a run."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: object) -> Applied | None:
        """As recorded; None when nothing usable was (an older run: the environment's)."""
        if not isinstance(data, Mapping):
            return None
        level = LevelSettings.from_json(data)
        return cls(
            instructions=level.instructions,
            allowed=level.allowed,
            blocked=level.blocked,
            web=data.get("web") is not False,
            budget_usd=level.budget_usd,
            review=data.get("review") is True,
            effort=level.effort,
        )


def _jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def applied(env: Settings, workspace: LevelSettings, channel: LevelSettings) -> Applied:
    """What a run in the channel uses (see the module's docstring for the rules)."""
    said = [text for text in (workspace.instructions, channel.instructions) if text]
    allowed = channel.allowed or workspace.allowed or env.web_allowed_domains
    blocked = tuple(dict.fromkeys((*env.web_blocked_domains, *workspace.blocked, *channel.blocked)))
    # The API takes one list: with allowed domains, blocked ones narrow them instead.
    kept = narrowed_domains(allowed, blocked) if allowed else ()
    budget = _first(channel.budget_usd, workspace.budget_usd, env.channel_daily_budget_usd)
    review = _first(channel.review, workspace.review)
    return Applied(
        instructions="\n".join(said),
        allowed=kept,
        blocked=() if allowed else blocked,
        web=not allowed or bool(kept),
        budget_usd=budget,
        review=review if review is not None else env.plan_review == "always",
        effort=channel.effort or workspace.effort,
    )


def _first(*values: _T | None) -> _T | None:
    return next((v for v in values if v is not None), None)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A modal's submission, parsed: the level it is for and its settings."""

    scope: Scope
    settings: LevelSettings
    errors: dict[str, str] = field(default_factory=dict)  # block id -> what must change


def parse_submission(values: Mapping[str, str | None]) -> Submitted:
    """The settings a person submitted (block id -> text or chosen option's value), or a
    message per field. Never raises, whatever the text."""
    errors: dict[str, str] = {}
    scope: Scope = "workspace" if values.get(SCOPE) == "workspace" else "channel"
    instructions = (values.get(INSTRUCTIONS) or "").strip()
    if len(instructions) > INPUT_VALUE_LIMIT:
        errors[INSTRUCTIONS] = (
            f"Standing instructions hold at most {INPUT_VALUE_LIMIT:,} characters."
        )
    allowed = _domains(values.get(ALLOWED), ALLOWED, errors)
    blocked = _domains(values.get(BLOCKED), BLOCKED, errors)
    budget = _budget(values.get(BUDGET), errors)
    effort = values.get(EFFORT)
    settings = LevelSettings(
        instructions=instructions,
        allowed=allowed,
        blocked=blocked,
        budget_usd=budget,
        review=_switch(values.get(REVIEW)),
        effort=effort if effort is not None and is_effort(effort) else None,
        members_may_change=values.get(MEMBERS) == "on" if scope == "workspace" else None,
    )
    return Submitted(scope, settings, errors)


def _switch(value: str | None) -> bool | None:
    return True if value == "on" else False if value == "off" else None


def split_entries(text: str | None) -> tuple[str, ...]:
    """The domains typed in one field, in order, each once."""
    return tuple(dict.fromkeys(e for e in _SEPARATORS.split(text or "") if e))


def _domains(text: str | None, block: str, errors: dict[str, str]) -> tuple[str, ...]:
    entries = split_entries(text)
    # Shown again as "a, b, c" in a field of 3,000 characters: they must fit there.
    if len(entries) > MAX_DOMAINS or len(", ".join(entries)) > INPUT_VALUE_LIMIT:
        errors[block] = f"At most {MAX_DOMAINS} domains, {INPUT_VALUE_LIMIT:,} characters."
        return ()
    for entry in entries:
        problem = domain_problem(entry)
        if problem is not None:
            shown = entry if len(entry) <= 60 else entry[:57] + "..."
            errors[block] = f"{shown}: {problem}."
            return ()
    return entries


def _budget(text: str | None, errors: dict[str, str]) -> float | None:
    typed = (text or "").strip()
    if not typed:
        return None
    if typed.startswith("-"):
        errors[BUDGET] = "A budget cannot be negative (0 stops every run here; empty: none)."
        return None
    match = _AMOUNT.fullmatch(typed)
    usd = float(match.group(1)) if match else math.nan
    if not math.isfinite(usd) or usd > MAX_BUDGET_USD:
        errors[BUDGET] = f"Write a dollar amount from 0 to {MAX_BUDGET_USD:,.0f}, e.g. 25 or 7.50."
        return None
    return usd


def form_values(settings: LevelSettings, scope: Scope) -> dict[str, str]:
    """What the modal shows pre-filled for `settings` (block id -> text or option value);
    submitted unchanged, it parses back to `settings`."""
    return {
        SCOPE: scope,
        INSTRUCTIONS: settings.instructions,
        ALLOWED: ", ".join(settings.allowed),
        BLOCKED: ", ".join(settings.blocked),
        BUDGET: "" if settings.budget_usd is None else amount_text(settings.budget_usd),
        REVIEW: {True: "on", False: "off", None: "default"}[settings.review],
        EFFORT: settings.effort or "default",
        MEMBERS: "on" if settings.members_may_change else "off",
    }


def amount_text(usd: float) -> str:
    """A budget as typed back: 25, 7.5, 0.000001 (what `_budget` reads as the same)."""
    return f"{usd:.6f}".rstrip("0").rstrip(".")


def changes(before: LevelSettings, after: LevelSettings) -> list[str]:
    """What changed, one short phrase per field, for the announcement."""
    said: list[str] = []
    if before.instructions != after.instructions:
        said.append("standing instructions " + ("cleared" if not after.instructions else "set"))
    for name, old, new in (
        ("allowed domains", before.allowed, after.allowed),
        ("blocked domains", before.blocked, after.blocked),
    ):
        if old != new:
            said.append(f"{name}: {', '.join(new)}" if new else f"{name} cleared")
    if before.budget_usd != after.budget_usd:
        budget = after.budget_usd
        said.append(
            "daily budget cleared" if budget is None else f"daily budget ${amount_text(budget)}"
        )
    if before.review != after.review:
        said.append(f"plan review {({True: 'on', False: 'off', None: 'as default'})[after.review]}")
    if before.effort != after.effort:
        said.append(f"default effort {after.effort or 'as default'}")
    if bool(before.members_may_change) != bool(after.members_may_change):
        may = "may" if after.members_may_change else "may no longer"
        said.append(f"channel members {may} change their channel's settings")
    return said
