"""Budgets that hold under parallel calls: every Claude API request reserves its worst case.

A budget checked after calls return lets five parallel subagents all start on the last
dollar. Here each API request (a call's first, and each continuation of a paused web turn)
first holds the most it could cost (its estimated input, what its web tools may add, its
`max_tokens` of output and every search it may make, at its model's price) and, when it
returns, settles the hold to what it really cost; a request that does not fit waits while
the run's own requests in flight settle (they usually cost less than they held) and, once
none is left, stops the run (a continuation: ends its turn with what it has).

Two kinds of budget meet here: the run's own (`PipelineConfig.budget_tokens`/`budget_usd`,
kept in memory) and one the caller passes to `run_pipeline` (e.g. the Slack app's daily
budgets per person and channel, kept in its database), seen only through the `Budget`
protocol below.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pipeline.config import PipelineConfig
from pipeline.errors import BudgetExceeded
from pipeline.llm import LLMRequest, Usage
from pipeline.usage import RunUsage, cost_of

logger = logging.getLogger(__name__)

# Tokens are counted from UTF-8 bytes / 3: English runs at about 4 characters a token, and
# text outside ASCII takes 2 to 4 bytes a character, so this errs high for every script.
BYTES_PER_TOKEN = 3
# Roles, separators and the structured-output framing the API adds around the text.
CALL_OVERHEAD_TOKENS = 100
MESSAGE_OVERHEAD_TOKENS = 10
# The input tokens one web search's results add. No parameter bounds them, so this is an
# estimate that errs high (one search in Anthropic's own usage example adds about 7,000);
# settling to the reported usage puts right what it gets wrong. A fetched page is bounded
# instead, by the `max_content_tokens` the web_fetch tool is sent.
SEARCH_RESULT_TOKENS = 8_000


class Reservation(Protocol):
    """Money held for one call until it settles."""

    async def settle(self, actual_usd: float) -> None:
        """Replace the hold by what the call really cost (0.0 when it cost nothing).

        Never raises: a hold that cannot be settled stays held (the implementation says
        what then becomes of it)."""
        ...


class Budget(Protocol):
    """A dollar budget outside the run (a person's or a channel's day, say)."""

    async def reserve(self, usd: float) -> Reservation:
        """Hold `usd` for one call.

        Raises:
            BudgetExceeded: the budget cannot hold `usd` now; its message is a sentence for
                the user (which budget, what is left, when it resets).
        """
        ...


class _Settled:
    async def settle(self, actual_usd: float) -> None:
        """Nothing was held."""


class Unlimited:
    """A budget that always has room (the default of `run_pipeline`)."""

    async def reserve(self, usd: float) -> Reservation:
        """Hold nothing."""
        return _Settled()


NO_BUDGET: Budget = Unlimited()


def _plain(value: object) -> object:
    return dict(value) if isinstance(value, Mapping) else str(value)


def estimate_input_tokens(request: LLMRequest) -> int:
    """An estimate of a request's input tokens that errs high (see BYTES_PER_TOKEN).

    A continuation's input includes the paused turns it sends back (encrypted search
    results among them: their base64 is larger than the tokens it stands for)."""
    text = [request.system, *(message.content for message in request.messages)]
    if request.json_schema is not None:
        # A schema is billed as input too (it may hold read-only mappings: as dicts).
        text.append(json.dumps(request.json_schema, default=_plain))
    text += [json.dumps(paused.blocks, default=_plain) for paused in request.paused]
    size = sum(len(part.encode()) for part in text)
    turns = len(request.messages) + len(request.paused)
    overhead = CALL_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS * turns
    return math.ceil(size / BYTES_PER_TOKEN) + overhead


def worst_case_usage(request: LLMRequest) -> Usage:
    """The most one API request can use: its estimated input, what its web tools may read
    into it (every search's results, every fetched page at its `max_content_tokens`),
    `max_tokens` out and every search it may make (`max_uses` counts per request)."""
    web = request.web
    searches = web.max_uses if web is not None else 0
    fetched = web.max_uses * web.max_content_tokens if web is not None and web.fetch else 0
    return Usage(
        input_tokens=estimate_input_tokens(request) + searches * SEARCH_RESULT_TOKENS + fetched,
        output_tokens=request.max_tokens,
        web_search_requests=searches,
    )


def worst_case_usd(request: LLMRequest, config: PipelineConfig) -> float | None:
    """The most a call can cost, None when its model has no price.

    Input is priced at the dearest way it can be billed (a cache write, 1.25x, when the
    system prompt is cached)."""
    price = config.price_for(request.model)
    if price is None:
        return None
    worst = worst_case_usage(request)
    dearest_input = price.input * max(
        1.0, price.cache_write_multiplier, price.cache_read_multiplier
    )
    searches = worst.web_search_requests * price.web_search_per_1000 / 1000
    return (
        worst.input_tokens * dearest_input + worst.output_tokens * price.output
    ) / 1_000_000 + searches


def usd_text(usd: float) -> str:
    """Dollars for people: cents from $1 up, otherwise up to four decimals ($0.0042)."""
    if usd >= 1 or usd == 0:
        return f"${usd:,.2f}"
    text = f"{usd:.4f}".rstrip("0")
    return f"${text}" if len(text.split(".")[1]) >= 2 else f"${usd:.2f}"


@dataclass
class Hold:
    """What one call holds: tokens and dollars of the run's budget, and the outer budget's
    reservation (None when its model has no price and so nothing could be reserved)."""

    tokens: int
    usd: float | None
    outer: Reservation | None


class RunBudgets:
    """The holds of one run's calls, against its own limits and the caller's budget.

    Spent means what the run's ledger (`RunUsage`) says, plus the worst case of calls whose
    real usage never came back (cancelled, timed out, cut off: Claude may have billed
    them, so they are never counted as free)."""

    def __init__(self, run_id: str, config: PipelineConfig, usage: RunUsage, budget: Budget):
        self._run_id = run_id
        self._config = config
        self._usage = usage
        self._budget = budget
        self._held_tokens = 0
        self._held_usd = 0.0
        self._unreported = Usage()  # worst cases charged for calls that never reported
        self._unreported_usd = 0.0
        self._holding = 0  # calls that hold (or are getting) a reservation
        self._changed = asyncio.Event()  # set (and replaced) whenever a hold ends
        self._warned: set[str] = set()

    async def hold(self, request: LLMRequest) -> Hold:
        """Reserve the call's worst case, waiting while the run's other calls settle.

        Raises:
            BudgetExceeded: it does not fit even with no other call of the run holding.
        """
        tokens = worst_case_usage(request).total
        usd = worst_case_usd(request, self._config)
        if usd is None:
            self._warn_unpriced(request.model)
        while True:
            changed = self._changed  # taken first: a hold ending meanwhile is not missed
            try:
                return await self._try_hold(tokens, usd)
            except BudgetExceeded:
                if self._holding == 0:
                    raise
            await changed.wait()

    async def release(self, hold: Hold, spent: Usage | None, model: str) -> None:
        """End a hold: settle it to `spent` (None: unknown, so its worst case stays spent)."""
        try:
            if spent is None:
                self._unreported += Usage(input_tokens=hold.tokens)
                self._unreported_usd += hold.usd or 0.0
            if hold.outer is not None:
                actual = hold.usd if spent is None else cost_of(spent, model, self._config)
                await hold.outer.settle(actual or 0.0)
        finally:
            self._unhold(hold)
            self._wake()

    def _wake(self) -> None:
        """Wake the calls waiting for room (to look again)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _unhold(self, hold: Hold) -> None:
        self._held_tokens -= hold.tokens
        self._held_usd -= hold.usd or 0.0
        self._holding -= 1

    async def _try_hold(self, tokens: int, usd: float | None) -> Hold:
        self._check_own_limits(tokens, usd)
        # Counted before the outer reservation is awaited, so parallel calls see each other.
        hold = Hold(tokens, usd, None)
        self._held_tokens += tokens
        self._held_usd += usd or 0.0
        self._holding += 1
        try:
            hold.outer = await self._budget.reserve(usd) if usd is not None else None
        except BaseException:
            self._unhold(hold)
            # A refused attempt wakes the waiters only when it leaves no call holding: then
            # no hold will end to wake them, and each looks once more and, refused with none
            # holding, gives up. (Woken at every refusal, two waiters could keep retrying
            # each other for ever.) Before continuations, the first refusal stopped the run
            # and cancelled the waiters; a continuation refused ends only its own turn.
            if self._holding == 0:
                self._wake()
            raise
        return hold

    def _check_own_limits(self, tokens: int, usd: float | None) -> None:
        limit_tokens = self._config.budget_tokens
        if limit_tokens is not None:
            used = (self._usage.total + self._unreported).total + self._held_tokens
            if used + tokens > limit_tokens:
                why = (
                    f"{limit_tokens:,} tokens has {max(limit_tokens - used, 0):,} left, not "
                    f"enough for the next call (up to {tokens:,})."
                )
                raise BudgetExceeded(
                    f"This run stopped: its budget of {why}", why=f"this run's budget of {why}"
                )
        limit_usd = self._config.budget_usd
        spent_usd = self._usage.cost_usd
        if limit_usd is not None and usd is not None and spent_usd is not None:
            used_usd = spent_usd + self._unreported_usd + self._held_usd
            if used_usd + usd > limit_usd:
                why = (
                    f"{usd_text(limit_usd)} has {usd_text(max(limit_usd - used_usd, 0.0))} "
                    f"left, not enough for the next call (up to {usd_text(usd)})."
                )
                raise BudgetExceeded(
                    f"This run stopped: its budget of {why}", why=f"this run's budget of {why}"
                )

    def _warn_unpriced(self, model: str) -> None:
        # Configuration refuses dollar budgets without prices; this is the last word if a
        # model without one gets here anyway: its calls run, unreserved and unrecorded.
        if model not in self._warned:
            self._warned.add(model)
            logger.warning(
                "no price for %s: dollar budgets cannot reserve its calls (set "
                "ORCHESTRA_PRICES) [run_id=%s]",
                model,
                self._run_id,
            )
