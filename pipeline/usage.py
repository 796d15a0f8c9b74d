"""One usage ledger per run, shared by all its calls (budgets hold against it: budget.py)."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.config import PipelineConfig, Role
from pipeline.llm import Usage

_PER_TOKEN = 1 / 1_000_000


def cost_of(usage: Usage, model: str, config: PipelineConfig) -> float | None:
    """US$ for `usage` on `model` (tokens and web searches); None when the model has no
    known price."""
    price = config.price_for(model)
    if price is None:
        return None
    return (
        _PER_TOKEN
        * (
            usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + usage.cache_creation_input_tokens * price.input * price.cache_write_multiplier
            + usage.cache_read_input_tokens * price.input * price.cache_read_multiplier
        )
        + usage.web_search_requests * price.web_search_per_1000 / 1000
    )


class RunUsage:
    """Tokens, web searches and dollars of one run, per role and per model."""

    def __init__(self, config: PipelineConfig) -> None:
        self._config = config
        self._by_role: dict[Role, Usage] = {}
        self._by_model: dict[str, Usage] = {}

    def add(self, role: Role, model: str, usage: Usage) -> None:
        """Record one call's usage."""
        self._by_role[role] = self._by_role.get(role, Usage()) + usage
        self._by_model[model] = self._by_model.get(model, Usage()) + usage

    @property
    def by_role(self) -> Mapping[Role, Usage]:
        """Usage summed per role."""
        return dict(self._by_role)

    @property
    def total(self) -> Usage:
        """Usage of the whole run."""
        return sum(self._by_model.values(), Usage())

    @property
    def search_cost_usd(self) -> float | None:
        """Dollars of the web searches alone (part of `cost_usd`); None as `cost_usd` is."""
        prices = [(self._config.price_for(m), u) for m, u in self._by_model.items()]
        if any(price is None for price, _ in prices):
            return None
        return sum(
            u.web_search_requests * price.web_search_per_1000 / 1000
            for price, u in prices
            if price is not None
        )

    @property
    def cost_usd(self) -> float | None:
        """Dollars so far; None when any model used has no known price."""
        costs = [cost_of(u, m, self._config) for m, u in self._by_model.items()]
        if any(c is None for c in costs):
            return None
        return sum(c for c in costs if c is not None)
