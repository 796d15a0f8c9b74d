"""Typed, immutable progress events and the sink protocol every consumer implements."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from pipeline.config import Role
from pipeline.estimate import Estimate
from pipeline.llm import Source, Usage
from pipeline.models import Plan, RunResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields every event carries."""

    run_id: str
    at: float  # seconds since the run started


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    goal: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanReady(Event):
    plan: Plan
    usage: Usage = field(default_factory=Usage)  # what planning cost (none when resumed)
    resumed: bool = False  # the plan came from a checkpoint, not from a call
    estimate: Estimate | None = None  # what the rest of the run will cost and take


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRetrying(Event):
    """A Claude call failed transiently and will be tried again after `wait_s`."""

    role: Role
    subtask_id: str | None
    attempt: int  # the attempt that failed, from 1
    reason: str
    wait_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SubtaskStarted(Event):
    subtask_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubtaskFinished(Event):
    subtask_id: str
    output: str
    elapsed_s: float
    usage: Usage
    reused: bool = False  # finished before a restart; reused, not called again
    sources: tuple[Source, ...] = ()  # pages its output cites, by first citation
    searches: int = 0  # web searches made
    search_errors: tuple[str, ...] = ()  # e.g. "unavailable": answered from memory
    cut: str = ""  # why its output is not whole, "" when it is


@dataclass(frozen=True, slots=True, kw_only=True)
class SubtaskFailed(Event):
    subtask_id: str
    reason: str
    elapsed_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SubtaskSkipped(Event):
    subtask_id: str
    failed_dependencies: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubtaskCut(Event):
    """The run's deadline stopped this subtask while it ran, or before it could start
    (`words.CUT_AT_DEADLINE`); Continue runs it later."""

    subtask_id: str
    was_running: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationStarted(Event):
    failed: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationDelta(Event):
    """A piece of the streamed answer, with the answer so far."""

    delta: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    result: RunResult


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFailed(Event):
    result: RunResult


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCancelled(Event):
    result: RunResult


PipelineEvent = (
    RunStarted
    | PlanReady
    | CallRetrying
    | SubtaskStarted
    | SubtaskFinished
    | SubtaskFailed
    | SubtaskSkipped
    | SubtaskCut
    | IntegrationStarted
    | IntegrationDelta
    | RunFinished
    | RunFailed
    | RunCancelled
)


class EventSink(Protocol):
    """An async consumer of a run's events (the CLI, the Slack app, a logger)."""

    async def __call__(self, event: PipelineEvent) -> None: ...


async def deliver(sink: EventSink, event: PipelineEvent) -> None:
    """Hand an event to a sink; a sink that raises is logged and ignored, never fatal."""
    try:
        await sink(event)
    except Exception:
        logger.exception("event sink failed on %s [run_id=%s]", type(event).__name__, event.run_id)


async def discard(event: PipelineEvent) -> None:
    """A sink that ignores everything."""
