"""What every step of one run shares: its id, clock, sink, model, limits and usage ledger."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.config import PipelineConfig
from pipeline.errors import LLMError
from pipeline.events import CallRetrying, EventSink, PipelineEvent, deliver
from pipeline.llm import LLM, LLMReply, LLMRequest, TextCallback
from pipeline.retry import Sleep, retry_policy
from pipeline.usage import RunUsage

logger = logging.getLogger(__name__)


@dataclass
class RunContext:
    """The state of one run that its planner, scheduler and integrator share."""

    run_id: str
    llm: LLM
    config: PipelineConfig
    sink: EventSink
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    usage: RunUsage = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.usage = RunUsage(self.config)
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
        """One Claude call under the run's retry policy, timeout and budget; usage recorded."""

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
            self.usage.check_budget()
            if before_attempt is not None:
                before_attempt()
            timeout = self.config.call_timeout_s
            try:
                async with asyncio.timeout(timeout):
                    reply = await self.llm.complete(request, on_text)
            except TimeoutError:
                raise LLMError(
                    f"Claude did not answer within {timeout:g}s.", kind="timeout", retryable=True
                ) from None
            # Priced by the model we asked for: the reply names a dated snapshot of the same alias.
            self.usage.add(request.role, request.model, reply.usage)
            return reply

        return await retry_policy(self.config, report, self.sleep)(attempt)
