"""What every step of one run shares: its id, clock, sink, model, limits, usage ledger and
budget holds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline import words
from pipeline.budget import NO_BUDGET, Budget, RunBudgets
from pipeline.config import PipelineConfig
from pipeline.errors import BudgetExceeded, LLMError, LLMErrorKind
from pipeline.events import CallRetrying, EventSink, PipelineEvent, deliver
from pipeline.llm import LLM, LLMReply, LLMRequest, TextCallback, Usage, joined
from pipeline.retry import Sleep, retry_policy
from pipeline.steering import Steer, Steering, no_steering
from pipeline.tracing import NO_TRACING, Tracing
from pipeline.usage import RunUsage

logger = logging.getLogger(__name__)

# Failures after which Claude may have worked (and billed) without telling us how much: the
# call's hold settles at its worst case. Any other error is a refusal: it cost nothing.
_UNREPORTED: frozenset[LLMErrorKind] = frozenset({"timeout", "connection", "stream", "other"})

# A paused turn (`pause_turn`: the server's tool loop hit its iteration limit) is continued by
# another request; at most this many times, so a model that keeps pausing cannot run up
# searches without end (each request may search `max_uses` times again).
MAX_CONTINUATIONS = 3


def reported_usage(error: LLMError) -> Usage | None:
    """What a failed call cost: what it reported, nothing for a refusal, None (unknown)
    when it may have run."""
    if error.usage is not None:
        return error.usage
    return None if error.kind in _UNREPORTED else Usage()


def why_cut(reply: LLMReply, max_tokens: int) -> str:
    """Why a call's reply is not whole, in words ("" when it is)."""
    if reply.stopped:
        return words.not_continued(reply.stopped)
    return words.cut_reason(reply.stop_reason, max_tokens, MAX_CONTINUATIONS)


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
    steering: Steering = no_steering
    usage: RunUsage = field(init=False)
    budgets: RunBudgets = field(init=False)
    started: float = field(init=False)
    tracing: Tracing = field(default=NO_TRACING, kw_only=True)  # where its stages are traced
    # Standing instructions of where the run was asked (issue 24.4): "" for none.
    instructions: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        self.usage = RunUsage(self.config)
        self.budgets = RunBudgets(self.run_id, self.config, self.usage, self.budget)
        self.started = self.clock()

    def now(self) -> float:
        """Seconds since the run started."""
        return self.clock() - self.started

    async def steers(self) -> Sequence[Steer]:
        """The run's steers so far, oldest first; () if its source fails (a steer is advice:
        a store that cannot be read must not fail the run, which goes on without it)."""
        try:
            return tuple(await self.steering())
        except Exception:
            logger.exception("could not read the run's steers [run_id=%s]", self.run_id)
            return ()

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

        A call is one API request, or several when the API pauses its web turn: each
        continuation is a request of its own. Every request and every attempt at it (retries
        too) first holds its worst case against the budgets and settles the hold when it
        ends, so parallel calls never cross a budget. A continuation whose hold does not fit
        is not sent: the call ends with what the turn has so far, and `stopped` says why.

        Raises:
            BudgetExceeded: the first request does not fit (a continuation never raises it).
        """
        reply = await self._request(request, subtask_id, on_text, before_attempt)
        replies = [reply]
        while reply.paused is not None and len(replies) <= MAX_CONTINUATIONS:
            request = request.continued(reply.paused)
            try:
                # Its text adds to what was streamed: no `before_attempt`, which starts over.
                reply = await self._request(request, subtask_id, on_text, None)
            except BudgetExceeded as exc:
                logger.info("paused turn not continued: %s [run_id=%s]", exc.why, self.run_id)
                return joined(replies, stopped=exc.why)
            replies.append(reply)
        return joined(replies) if len(replies) > 1 else reply

    async def _request(
        self,
        request: LLMRequest,
        subtask_id: str | None,
        on_text: TextCallback | None,
        before_attempt: Callable[[], None] | None,
    ) -> LLMReply:
        """One API request, retried under the run's policy, each attempt held and settled."""

        async def report(attempt: int, error: LLMError, wait_s: float) -> None:
            logger.warning(
                "retrying %s call after %s (attempt %d, wait %.1fs) [run_id=%s]",
                request.role,
                error.kind,
                attempt,
                wait_s,
                self.run_id,
            )
            self.tracing.note(
                "retry",
                {"attempt": attempt, "error.type": error.kind, "wait_s": round(wait_s, 3)},
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
