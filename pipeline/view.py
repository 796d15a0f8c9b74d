"""A run's visible state, folded from its events: what every progress display renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, assert_never

from pipeline.estimate import Estimate
from pipeline.events import (
    CallRetrying,
    IntegrationDelta,
    IntegrationStarted,
    PipelineEvent,
    PlanReady,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
    SubtaskCut,
    SubtaskFailed,
    SubtaskFinished,
    SubtaskSkipped,
    SubtaskStarted,
)
from pipeline.llm import Source, Usage
from pipeline.models import Plan, RunResult
from pipeline.summary import web_note
from pipeline.words import CUT_AT_DEADLINE

SubtaskState = Literal["pending", "running", "retrying", "done", "failed", "skipped", "cancelled"]
Phase = Literal["planning", "running", "integrating", "finished", "failed", "cancelled"]


@dataclass
class SubtaskView:
    """One subtask as a person watching the run sees it."""

    id: str
    role: str
    state: SubtaskState = "pending"
    detail: str = ""  # why it is retrying / failed / skipped
    attempt: int = 0
    wait_s: float = 0.0
    started_at: float | None = None
    elapsed_s: float = 0.0
    usage: Usage = field(default_factory=Usage)
    output: str = ""
    reused: bool = False  # done before a restart (or by the run it retries): not called again
    sources: tuple[Source, ...] = ()  # pages its output cites
    searches: int = 0
    search_errors: tuple[str, ...] = ()
    cut: str = ""  # why its output is not whole

    @property
    def web(self) -> str:
        """Its searches, sources and web trouble in words, and why its output is not whole
        when it is not ("" when neither applies): every display's done line ends with it."""
        note = web_note(self.searches, len(self.sources), self.search_errors)
        return " · ".join(part for part in (note, self.cut) if part)


@dataclass
class RunView:
    """Everything a display of one run needs; update it with `apply(event)`."""

    run_id: str
    goal: str = ""
    phase: Phase = "planning"
    plan: Plan | None = None
    subtasks: dict[str, SubtaskView] = field(default_factory=dict)
    notice: str = ""  # a retry of the plan or integration call
    answer: str = ""
    result: RunResult | None = None
    at: float = 0.0
    estimate: Estimate | None = None  # the plan's estimate of what is left (cost, time)

    @property
    def finished(self) -> bool:
        """True once the run has ended, however it ended."""
        return self.phase in ("finished", "failed", "cancelled")

    def apply(self, event: PipelineEvent) -> None:
        """Fold one event into the view."""
        self.at = max(self.at, event.at)
        match event:
            case RunStarted(goal=goal):
                self.goal = goal
            case PlanReady(plan=plan, estimate=estimate):
                self.plan, self.estimate = plan, estimate
                self.phase = "running"
                self.notice = ""
                self.subtasks = {t.id: SubtaskView(t.id, t.role) for t in plan.subtasks}
            case CallRetrying(subtask_id=None) as retry:
                self.notice = f"{retry.role} call retrying in {retry.wait_s:.0f}s: {retry.reason}"
            case CallRetrying(subtask_id=sid) as retry if sid in self.subtasks:
                sub = self.subtasks[sid]
                sub.state, sub.detail = "retrying", retry.reason
                sub.attempt, sub.wait_s = retry.attempt, retry.wait_s
            case CallRetrying():
                pass
            case SubtaskStarted(subtask_id=sid) if sid in self.subtasks:
                sub = self.subtasks[sid]
                sub.state, sub.started_at = "running", event.at
            case SubtaskFinished(subtask_id=sid) as done if sid in self.subtasks:
                sub = self.subtasks[sid]
                sub.state, sub.detail, sub.output = "done", "", done.output
                sub.elapsed_s, sub.usage, sub.reused = done.elapsed_s, done.usage, done.reused
                sub.sources, sub.searches = done.sources, done.searches
                sub.search_errors, sub.cut = done.search_errors, done.cut
            case SubtaskFailed(subtask_id=sid) as failed if sid in self.subtasks:
                sub = self.subtasks[sid]
                sub.state, sub.detail, sub.elapsed_s = "failed", failed.reason, failed.elapsed_s
            case SubtaskSkipped(subtask_id=sid) as skipped if sid in self.subtasks:
                sub = self.subtasks[sid]
                sub.state = "skipped"
                sub.detail = f"needs {', '.join(skipped.failed_dependencies)}, which failed"
            case SubtaskCut(subtask_id=sid) if sid in self.subtasks:
                sub = self.subtasks[sid]
                sub.state, sub.detail = "cancelled", CUT_AT_DEADLINE
            case (
                SubtaskStarted()
                | SubtaskFinished()
                | SubtaskFailed()
                | SubtaskSkipped()
                | SubtaskCut()
            ):
                pass
            case IntegrationStarted():
                self.phase, self.notice = "integrating", ""
            case IntegrationDelta(text=text):
                self.answer = text
            case (
                RunFinished(result=result) | RunFailed(result=result) | RunCancelled(result=result)
            ):
                self._end(event, result)
            case _:
                assert_never(event)

    def _end(self, event: RunFinished | RunFailed | RunCancelled, result: RunResult) -> None:
        self.result, self.answer, self.notice = result, result.answer or self.answer, ""
        self.phase = (
            "finished"
            if isinstance(event, RunFinished)
            else "failed"
            if isinstance(event, RunFailed)
            else "cancelled"
        )
        for sub in self.subtasks.values():
            if sub.state in ("pending", "running", "retrying"):
                sub.state = "cancelled"
