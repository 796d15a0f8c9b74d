"""One exception tree for everything a run can fail on; messages are safe to show users."""

from __future__ import annotations

from typing import Literal

from pipeline.llm import Usage

LLMErrorKind = Literal[
    "auth",
    "permission",
    "bad_request",
    "not_found",
    "too_large",
    "rate_limited",
    "overloaded",
    "server",
    "connection",
    "timeout",
    "stream",
    "other",
]


class PipelineError(Exception):
    """Base of every error a run reports; `str()` is a sentence a user can read."""


class PlanError(PipelineError):
    """The orchestrator could not produce a usable plan, even after one repair."""


class BudgetExceeded(PipelineError):
    """A call does not fit a budget (the run's own, or one its caller passed), so the run
    stops; the message says which budget, what is left and, for a daily one, when it
    resets. `why` says the same without "this run stopped", for a paused web turn that is
    not continued while the run goes on (the message itself when not given)."""

    def __init__(self, message: str, *, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message


class Refused(PipelineError):
    """Claude declined (stop reason `refusal`): a subtask fails with this, or the run when
    it was the plan or the answer."""


class AllSubtasksFailed(PipelineError):
    """No subtask succeeded, so there is nothing to integrate."""


class DeadlineReached(PipelineError):
    """The run's deadline came before anything was done: there is nothing to integrate."""


class InvalidGoal(PipelineError):
    """The goal is empty or over the configured size."""


class LLMError(PipelineError):
    """A Claude call failed; `retryable` and `retry_after` drive the retry policy.

    `usage` is what the call reported before failing (a stream cut off after its start,
    say): it is counted and paid for. None: nothing was reported."""

    def __init__(
        self,
        message: str,
        *,
        kind: LLMErrorKind,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: LLMErrorKind = kind
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.usage = usage


class InvalidOutput(PipelineError):
    """A subagent's output did not match its expected format."""
