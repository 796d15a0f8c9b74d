"""The one retry policy for Claude calls (the SDK's own retries are off, so none stack)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from pipeline.config import PipelineConfig
from pipeline.errors import LLMError

OnRetry = Callable[[int, LLMError, float], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


def is_retryable(error: BaseException) -> bool:
    """Only errors the adapter marked transient (429, 529, 5xx, timeouts, resets) are retried."""
    return isinstance(error, LLMError) and error.retryable


def backoff_s(attempt: int, error: LLMError | None, config: PipelineConfig) -> float:
    """Seconds to wait after failed `attempt` (from 1): the server's retry-after, else jittered
    exponential backoff; both capped so one call never waits longer than retry_max_wait_s."""
    if error is not None and error.retry_after is not None:
        return min(max(float(error.retry_after), 0.0), config.retry_max_wait_s)
    base: float = config.retry_initial_wait_s * 2.0 ** (attempt - 1)
    # Full jitter keeps parallel subagents that failed together from retrying in lockstep.
    return min(base * (0.5 + random.random() / 2), config.retry_max_wait_s)  # noqa: S311


def retry_policy(config: PipelineConfig, on_retry: OnRetry, sleep: Sleep) -> AsyncRetrying:
    """A tenacity policy that reports each retry through `on_retry(attempt, error, wait_s)`."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return backoff_s(
            state.attempt_number, error if isinstance(error, LLMError) else None, config
        )

    async def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait_s = state.next_action.sleep if state.next_action else 0.0
        if isinstance(error, LLMError):
            await on_retry(state.attempt_number, error, wait_s)

    return AsyncRetrying(
        stop=stop_after_attempt(config.max_attempts),
        retry=retry_if_exception(is_retryable),
        wait=wait,
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
