"""Frozen pipeline configuration: what a run may do. Never reads the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode

Role = Literal["orchestrator", "subagent", "integrator"]


class ModelPrice(BaseModel):
    """US$ per million tokens for one model."""

    model_config = ConfigDict(frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    # Anthropic bills 5-minute cache writes at 1.25x input and cache reads at 0.1x input.
    cache_write_multiplier: float = Field(default=1.25, ge=0)
    cache_read_multiplier: float = Field(default=0.1, ge=0)
    # Server-side web search: US$10 per 1,000 searches on every model, on top of tokens.
    # Set per model in ORCHESTRA_PRICES like the token prices ("web_search_per_1000": 10).
    web_search_per_1000: float = Field(default=10.0, ge=0)


def _price(input_: float, output: float) -> ModelPrice:
    return ModelPrice(input=input_, output=output)


# Anthropic's published list prices (US$/MTok, input / output), checked 2026-11.
# One table; PipelineConfig.prices overrides or extends it.
DEFAULT_PRICES: Mapping[str, ModelPrice] = MappingProxyType(
    {
        "claude-haiku-4-5": _price(1, 5),
        "claude-sonnet-4-5": _price(3, 15),
        "claude-sonnet-4-6": _price(3, 15),
        "claude-opus-4-5": _price(5, 25),
        "claude-opus-4-6": _price(5, 25),
    }
)


# "claude-haiku-4-5-20251001" is priced as "claude-haiku-4-5".
_DATED_SNAPSHOT = re.compile(r"-\d{8}$")


class PipelineConfig(BaseModel):
    """Everything one pipeline run is allowed to do, fixed for the run's life.

    The one declaration of the pipeline's knobs: `pipeline.settings.PipelineSettings` reads
    each field from `ORCHESTRA_<FIELD>` (so a field added here is a variable too: document
    it in the README's Configuration table and in `.env.example`).
    """

    model_config = ConfigDict(frozen=True)

    orchestrator_model: str = "claude-sonnet-4-6"
    subagent_model: str = "claude-haiku-4-5"
    integrator_model: str = "claude-sonnet-4-6"
    # A plan has min_subtasks..max_subtasks subtasks; fewer than two is no fan-out at all.
    min_subtasks: int = Field(default=2, ge=2, le=20)
    max_subtasks: int = Field(default=5, ge=2, le=20)
    concurrency: int = Field(default=5, ge=1, le=50)
    call_timeout_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    retry_initial_wait_s: float = Field(default=1.0, ge=0)
    retry_max_wait_s: float = Field(default=30.0, ge=0)
    plan_max_tokens: int = Field(default=4096, ge=256)
    subagent_max_tokens: int = Field(default=2048, ge=64)
    integrator_max_tokens: int = Field(default=4096, ge=256)
    budget_tokens: int | None = Field(default=None, ge=1)
    budget_usd: float | None = Field(default=None, gt=0)
    max_goal_chars: int = Field(default=4000, ge=10)
    max_context_chars: int = Field(default=8000, ge=0)
    prices: Mapping[str, ModelPrice] = Field(default_factory=dict)
    # Web tools for the subtasks the plan marks `needs_web`: server-side search and fetch
    # (off: neither). `web_search_max_uses` bounds each tool per subagent call. The domain
    # lists are comma-separated in the environment (NoDecode: not JSON) and the API takes
    # only one of them.
    web_search: bool = True
    web_search_max_uses: int = Field(default=5, ge=1, le=50)
    web_allowed_domains: Annotated[tuple[str, ...], NoDecode] = ()
    web_blocked_domains: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("web_allowed_domains", "web_blocked_domains", mode="before")
    @classmethod
    def _domain_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(d.strip() for d in value.split(",") if d.strip())
        return value

    @model_validator(mode="after")
    def _bounds_in_order(self) -> PipelineConfig:
        if self.min_subtasks > self.max_subtasks:
            raise ValueError("min_subtasks must not exceed max_subtasks")
        if self.web_allowed_domains and self.web_blocked_domains:
            raise ValueError(
                "set ORCHESTRA_WEB_ALLOWED_DOMAINS or ORCHESTRA_WEB_BLOCKED_DOMAINS, not both "
                "(the web search API accepts only one of the two lists)"
            )
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
