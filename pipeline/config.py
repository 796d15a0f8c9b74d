"""Frozen pipeline configuration: what a run may do. Never reads the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode

from pipeline import config_words as words
from pipeline.domains import check_domains, split_domains

Role = Literal["orchestrator", "subagent", "integrator"]
ROLES: tuple[Role, ...] = ("orchestrator", "subagent", "integrator")


class ModelPrice(BaseModel):
    """US$ per million tokens for one model.

    Finite and bounded like every number of the configuration (`allow_inf_nan=False`): an
    infinite price would make every cost "$nan" and record no spend. The bounds are far above
    any list price (the dearest model ever listed was US$75 per million output tokens)."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    input: float = Field(ge=0, le=1_000)
    output: float = Field(ge=0, le=1_000)
    # Anthropic bills 5-minute cache writes at 1.25x input and cache reads at 0.1x input
    # (0.05x on Opus 5.5 and Sonnet 5.5, 0.025x on Fable and Mythos 5.1 and later).
    cache_write_multiplier: float = Field(default=1.25, ge=0, le=10)
    cache_read_multiplier: float = Field(default=0.1, ge=0, le=10)
    # Server-side web search: US$10 per 1,000 searches on every model, on top of tokens.
    # Set per model in ORCHESTRA_PRICES like the token prices ("web_search_per_1000": 10).
    web_search_per_1000: float = Field(default=10.0, ge=0, le=1_000)


def _price(input_: float, output: float, cache_read: float = 0.1) -> ModelPrice:
    return ModelPrice(input=input_, output=output, cache_read_multiplier=cache_read)


# Anthropic's published list prices (US$/MTok, input / output; platform.claude.com, "Pricing"
# and each model's page), checked 2026-12. One table; PipelineConfig.prices overrides or
# extends it. Haiku 5.5 has two bands by prompt length: this is the band of prompts up to
# 100,000 tokens (a longer prompt costs 5x on every token of its request, which neither the
# footer nor a budget's reservation knows).
DEFAULT_PRICES: Mapping[str, ModelPrice] = MappingProxyType(
    {
        "claude-fable-5-2": _price(8, 40, cache_read=0.025),
        "claude-mythos-5-2": _price(8, 40, cache_read=0.025),
        "claude-fable-5-1": _price(10, 50, cache_read=0.025),
        "claude-mythos-5-1": _price(10, 50, cache_read=0.025),
        "claude-fable-5": _price(10, 50),
        "claude-mythos-5": _price(10, 50),
        "claude-opus-5-5": _price(4, 20, cache_read=0.05),
        "claude-opus-5": _price(5, 25),
        "claude-opus-4-8": _price(5, 25),
        "claude-opus-4-7": _price(5, 25),
        "claude-opus-4-6": _price(5, 25),
        "claude-opus-4-5": _price(5, 25),
        "claude-sonnet-5-5": _price(2, 10, cache_read=0.05),
        "claude-sonnet-5": _price(2, 10),
        "claude-sonnet-4-6": _price(3, 15),
        "claude-sonnet-4-5": _price(3, 15),
        "claude-haiku-5-5": _price(0.1, 0.5),
        "claude-haiku-4-5": _price(1, 5),
    }
)

# Anthropic's model deprecations (platform.claude.com, "Model deprecations" and each model's
# page), checked 2026-12: the day a deprecated model retires, after which every request to it
# fails. A configured model found here is named at start (`PipelineConfig.deprecated_models`).
END_OF_LIFE: Mapping[str, date] = MappingProxyType(
    {
        "claude-opus-4-5": date(2027, 1, 22),  # deprecated 2026-11-23, replaced by Opus 5.5
        "claude-sonnet-4-5": date(2026, 11, 30),
        "claude-opus-4-1": date(2026, 8, 5),
        "claude-opus-4-0": date(2026, 6, 15),
        "claude-opus-4": date(2026, 6, 15),
        "claude-sonnet-4-0": date(2026, 6, 15),
        "claude-sonnet-4": date(2026, 6, 15),
    }
)


# "claude-haiku-4-5-20251001" is priced as "claude-haiku-4-5".
_DATED_SNAPSHOT = re.compile(r"-\d{8}$")


class PipelineConfig(BaseModel):
    """Everything one pipeline run is allowed to do, fixed for the run's life.

    The one declaration of the pipeline's knobs: `pipeline.settings.PipelineSettings` reads
    each field from `ORCHESTRA_<FIELD>` (so a field added here is a variable too: document
    it in the README's Configuration table and in `.env.example`).

    Every number is finite and bounded on both sides (`allow_inf_nan=False`, and a `le` on
    each: `tests/bot/test_config.py` checks every numeric field has one): `inf` or `nan` pass
    a lone `gt=0` and then break at run time, e.g. an infinite call timeout holds a daily
    budget's reservation for ever. An upper bound is generous, not a recommendation.
    """

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    orchestrator_model: str = "claude-sonnet-4-6"
    subagent_model: str = "claude-haiku-4-5"
    integrator_model: str = "claude-sonnet-4-6"
    # A plan has min_subtasks..max_subtasks subtasks; fewer than two is no fan-out at all.
    min_subtasks: int = Field(default=2, ge=2, le=20)
    max_subtasks: int = Field(default=5, ge=2, le=20)
    concurrency: int = Field(default=5, ge=1, le=50)
    call_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    max_attempts: int = Field(default=4, ge=1, le=10)
    retry_initial_wait_s: float = Field(default=1.0, ge=0, le=600)
    retry_max_wait_s: float = Field(default=30.0, ge=0, le=600)
    # 128,000: the most output any current model writes in one reply (the API refuses more).
    plan_max_tokens: int = Field(default=4096, ge=256, le=128_000)
    subagent_max_tokens: int = Field(default=2048, ge=64, le=128_000)
    integrator_max_tokens: int = Field(default=4096, ge=256, le=128_000)
    budget_tokens: int | None = Field(default=None, ge=1, le=1_000_000_000)
    budget_usd: float | None = Field(default=None, gt=0, le=100_000)
    max_goal_chars: int = Field(default=4000, ge=10, le=40_000)  # Slack's longest message text
    max_context_chars: int = Field(default=8000, ge=0, le=400_000)
    prices: Mapping[str, ModelPrice] = Field(default_factory=dict)
    # Web tools for the subtasks the plan marks `needs_web`: server-side search and fetch
    # (off: neither). `web_search_max_uses` bounds each tool per API request (a paused
    # turn's continuation is a request of its own). `web_fetch_max_content_tokens` bounds
    # the input one fetched page adds (the API cuts it there; an average page is about
    # 2,500 tokens), so a fetch can be reserved before it is paid for. The domain lists are
    # comma-separated in the environment (NoDecode: not JSON) and the API takes only one.
    web_search: bool = True
    web_search_max_uses: int = Field(default=5, ge=1, le=50)
    web_fetch_max_content_tokens: int = Field(default=10_000, ge=100, le=200_000)
    web_allowed_domains: Annotated[tuple[str, ...], NoDecode] = ()
    web_blocked_domains: Annotated[tuple[str, ...], NoDecode] = ()
    # Web fetch beside web search (off: search only; `--quick` turns it off for its run).
    web_fetch: bool = True
    # A run's working time (seconds calling Claude, planning included; not time queued or
    # awaiting approval, and continued after a restart): at it, running subagents stop,
    # unstarted ones do not start, and the integrator answers from what is done.
    run_deadline_s: float = Field(default=600.0, gt=0, le=86_400)
    # One subtask's longest time (all its attempts); past it, it fails like any failed
    # subtask. None: the run's deadline.
    subagent_timeout_s: float | None = Field(default=None, gt=0, le=86_400)
    # Suggested follow-up questions after an answer (issue 23.3): one short call to the
    # subagent model, counted in the run's cost. 0: none (the library's default; the app and
    # the CLI ask for 3, `pipeline.settings`).
    follow_ups: int = Field(default=0, ge=0, le=3)

    @field_validator("web_allowed_domains", "web_blocked_domains", mode="before")
    @classmethod
    def _domain_list(cls, value: object) -> object:
        if isinstance(value, str):  # from the environment: comma-separated
            return split_domains(value)
        return value

    @field_validator("web_allowed_domains", "web_blocked_domains")
    @classmethod
    def _domains_accepted(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Each entry a domain the web tools accept (pipeline/domains.py): one they refuse is
        # a 400 on every web call, so it is named at start instead.
        check_domains(value)
        return value

    @model_validator(mode="after")
    def _bounds_in_order(self) -> PipelineConfig:
        if self.min_subtasks > self.max_subtasks:
            raise ValueError("min_subtasks must not exceed max_subtasks")
        if self.web_allowed_domains and self.web_blocked_domains:
            raise ValueError(words.BOTH_DOMAIN_LISTS)
        if self.budget_usd is not None:
            unpriced = self.unpriced_models()
            if unpriced:
                # A dollar budget reserves each call's worst case at its model's price;
                # without one it could not hold, so say so at start, not mid-run.
                raise ValueError(
                    f"a dollar budget needs a price for {', '.join(unpriced)} "
                    "(set ORCHESTRA_PRICES)"
                )
        return self

    def unpriced_models(self) -> list[str]:
        """The configured models without a known price (their cost is unknown)."""
        models = dict.fromkeys(
            (self.orchestrator_model, self.subagent_model, self.integrator_model)
        )
        return [model for model in models if self.price_for(model) is None]

    def deprecated_models(self) -> list[tuple[str, tuple[Role, ...], date]]:
        """Each configured model Anthropic has deprecated or retired, once: the model, the
        roles it is configured for, and its end of life (`END_OF_LIFE`)."""
        roles: dict[str, tuple[Role, ...]] = {}
        for role in ROLES:
            model = self.model_for(role)
            roles[model] = (*roles.get(model, ()), role)
        found = [(model, its, _end_of_life(model)) for model, its in roles.items()]
        return [(model, its, end) for model, its, end in found if end is not None]

    def model_for(self, role: Role) -> str:
        """The model configured for a role."""
        match role:
            case "orchestrator":
                return self.orchestrator_model
            case "subagent":
                return self.subagent_model
            case "integrator":
                return self.integrator_model

    def price_for(self, model: str) -> ModelPrice | None:
        """The price of a model, None when it is unknown (never assume free)."""
        for name in (model, _DATED_SNAPSHOT.sub("", model)):
            price = self.prices.get(name) or DEFAULT_PRICES.get(name)
            if price is not None:
                return price
        return None


def _end_of_life(model: str) -> date | None:
    """When a model stops answering, None when it is not deprecated (dated snapshots too)."""
    return END_OF_LIFE.get(model) or END_OF_LIFE.get(_DATED_SNAPSHOT.sub("", model))
