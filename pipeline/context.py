"""What every step of one run shares: its id, clock, sink, model, limits, usage ledger and
budget holds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.budget import NO_BUDGET, Budget, RunBudgets
from pipeline.config import PipelineConfig
from pipeline.errors import LLMError, LLMErrorKind
from pipeline.events import CallRetrying, EventSink, PipelineEvent, deliver
from pipeline.llm import LLM, LLMReply, LLMRequest, TextCallback, Usage
from pipeline.retry import Sleep, retry_policy
from pipeline.usage import RunUsage

logger = logging.getLogger(__name__)

# Failures after which Claude may have worked (and billed) without telling us how much: the
# call's hold settles at its worst case. Any other error is a refusal: it cost nothing.
_UNREPORTED: frozenset[LLMErrorKind] = frozenset({"timeout", "connection", "stream", "other"})


def reported_usage(error: LLMError) -> Usage | None:
    """What a failed call cost: what it reported, nothing for a refusal, None (unknown)
    when it may have run."""
    if error.usage is not None:
        return error.usage
    return None if error.kind in _UNREPORTED else Usage()


@dataclass
class RunContext:
    """The state of one run that its planner, scheduler and integrator share."""

    run_id: str
    llm: LLM
    config: PipelineConfig
    sink: EventSink
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    budget: Budget = NO_BUDGET
    usage: RunUsage = field(init=False)
    budgets: RunBudgets = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.usage = RunUsage(self.config)
        self.budgets = RunBudgets(self.run_id, self.config, self.usage, self.budget)
        self.started = self.clock()

    def now(self) -> float:
        """Seconds since the run started."""
        return self.clock() - self.started

    async def emit(self, event: PipelineEvent) -> None:
        """Deliver an event to the run's sink (a failing sink never fails the run)."""
        await deliver(self.sink, event)

    async def call(
        self,
        request: LLMRequest,
        *,
        subtask_id: str | None = None,
        on_text: TextCallback | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> LLMReply:
        """One Claude call under the run's retry policy, timeout and budgets; usage recorded.

        Every attempt (retries too) first holds its worst case against the budgets and
        settles the hold when it ends, so parallel calls never cross a budget."""

        async def report(attempt: int, error: LLMError, wait_s: float) -> None:
            logger.warning(
                "retrying %s call after %s (attempt %d, wait %.1fs) [run_id=%s]",
                request.role,
                error.kind,
                attempt,
                wait_s,
                self.run_id,
            )
            await self.emit(
                CallRetrying(
                    run_id=self.run_id,
                    at=self.now(),
                    role=request.role,
                    subtask_id=subtask_id,
                    attempt=attempt,
                    reason=str(error),
                    wait_s=wait_s,
                )
            )

        async def attempt() -> LLMReply:
            hold = await self.budgets.hold(request)
            spent: Usage | None = None  # None: unknown (cancelled, say), its worst case stays
            try:
                if before_attempt is not None:
                    before_attempt()
                reply = await self._complete(request, on_text)
                # Priced by the model we asked for: the reply names a dated snapshot of it.
                self.usage.add(request.role, request.model, reply.usage)
                spent = reply.usage
                return reply
            except LLMError as error:
                spent = reported_usage(error)
                if error.usage is not None:
                    self.usage.add(request.role, request.model, error.usage)
                raise
            finally:
                await self.budgets.release(hold, spent, request.model)

        return await retry_policy(self.config, report, self.sleep)(attempt)

    async def _complete(self, request: LLMRequest, on_text: TextCallback | None) -> LLMReply:
        timeout = self.config.call_timeout_s
        try:
            async with asyncio.timeout(timeout):
                return await self.llm.complete(request, on_text)
        except TimeoutError:
            raise LLMError(
                f"Claude did not answer within {timeout:g}s.", kind="timeout", retryable=True
            ) from None
