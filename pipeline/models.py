"""The plan (validated at the API boundary) and what a run produces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from pipeline.config import Role
from pipeline.llm import Source, Usage

OutputFormat = Literal["text", "markdown", "json"]


class SubTask(BaseModel):
    """One focused piece of work for one subagent call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,15}$", description="short id, e.g. s1")
    role: str = Field(min_length=3, max_length=200, description="one sentence")
    system_prompt: str = Field(min_length=10, max_length=4000)
    input: str = Field(min_length=3, max_length=8000, description="self-contained input")
    output_format: OutputFormat = "markdown"
    depends_on: list[str] = Field(default_factory=list, description="ids this needs first")
    needs_web: bool = Field(default=False, description="must it look things up on the web?")


class Plan(BaseModel):
    """A plan of focused subtasks for the goal."""

    # Validate with `context={"min": n, "max": m}` to bound the subtask count. The docstrings
    # of Plan and SubTask become schema descriptions the orchestrator reads: keep them short.

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: str = Field(min_length=3, max_length=500, description="the goal restated")
    subtasks: list[SubTask]

    @model_validator(mode="after")
    def _valid_graph(self, info: ValidationInfo) -> Self:
        bounds = info.context if isinstance(info.context, Mapping) else {}
        low, high = int(bounds.get("min", 2)), int(bounds.get("max", 5))
        count = len(self.subtasks)
        if not low <= count <= high:
            raise ValueError(f"a plan needs {low} to {high} subtasks, got {count}")
        ids = [task.id for task in self.subtasks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"subtask ids must be unique; repeated: {', '.join(duplicates)}")
        known = set(ids)
        for task in self.subtasks:
            unknown = [d for d in task.depends_on if d not in known]
            if unknown:
                raise ValueError(f"subtask {task.id} depends on unknown ids: {', '.join(unknown)}")
            if task.id in task.depends_on:
                raise ValueError(f"subtask {task.id} depends on itself")
        cycle = find_cycle({t.id: tuple(t.depends_on) for t in self.subtasks})
        if cycle:
            raise ValueError(f"dependencies form a cycle: {' -> '.join(cycle)}")
        return self

    def by_id(self) -> dict[str, SubTask]:
        """Subtasks keyed by id."""
        return {task.id: task for task in self.subtasks}


def find_cycle(graph: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    """A dependency cycle as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in graph:
        if start not in state and (found := visit(start)):
            return found
    return None


SubtaskStatus = Literal["done", "failed", "skipped", "cancelled"]
RunStatus = Literal["succeeded", "partial", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class SubtaskOutcome:
    """How one subtask ended."""

    subtask_id: str
    status: SubtaskStatus
    output: str = ""
    error: str = ""
    usage: Usage = field(default_factory=Usage)
    elapsed_s: float = 0.0
    attempts: int = 0
    sources: tuple[Source, ...] = ()  # cited pages, by first citation
    searches: int = 0  # web searches made
    search_errors: tuple[str, ...] = ()  # codes of failed searches (`fetch:<code>` fetches)
    cut: str = ""  # why its output is not whole (words.output_cut), "" when it is


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far an earlier attempt at a run got: resuming from it calls nothing done again.

    `done` holds the subtasks that finished (their outputs are reused); `spent` is what the
    earlier attempt's other calls (the plan) cost, so the run's usage stays whole.
    `borrowed`: the earlier attempt was another run (a Retry of its failed subtasks), whose
    usage is its own: the reused subtasks are not counted again in this run's."""

    plan: Plan
    done: Mapping[str, SubtaskOutcome] = field(default_factory=dict)
    spent: Mapping[Role, Usage] = field(default_factory=dict)
    borrowed: bool = False


@dataclass(frozen=True, slots=True)
class RunResult:
    """The full record of one run: plan, outcomes, answer, usage, cost and timings."""

    run_id: str
    goal: str
    status: RunStatus
    plan: Plan | None
    outcomes: Mapping[str, SubtaskOutcome]
    answer: str
    usage_by_role: Mapping[Role, Usage]
    usage: Usage
    cost_usd: float | None  # None: a model without a known price took part
    elapsed_s: float
    error: str = ""
    error_kind: str = ""
    search_cost_usd: float | None = 0.0  # the web searches' part of cost_usd
    answer_cut: str = ""  # why the answer is not whole (words.answer_cut), "" when it is
    cut: tuple[str, ...] = ()  # subtasks cut at the deadline (Continue runs them)
    # Up to three questions a reader may ask next (issue 23.3; () when none were asked for).
    follow_ups: tuple[str, ...] = ()

    @property
    def failed_subtasks(self) -> list[str]:
        """Ids of subtasks that did not finish."""
        return [o.subtask_id for o in self.outcomes.values() if o.status != "done"]

    @property
    def done_count(self) -> int:
        """How many subtasks finished."""
        return sum(1 for o in self.outcomes.values() if o.status == "done")

    @property
    def sources(self) -> tuple[Source, ...]:
        """The run's sources, numbered by position (the first is [1]): every finished
        subtask's, in plan order, each URL once."""
        order = [t.id for t in self.plan.subtasks] if self.plan else list(self.outcomes)
        return number_sources([self.outcomes[i] for i in order if i in self.outcomes])

    @property
    def searches(self) -> int:
        """Web searches made by the whole run."""
        return sum(o.searches for o in self.outcomes.values())


def number_sources(outcomes: Sequence[SubtaskOutcome]) -> tuple[Source, ...]:
    """The finished outcomes' sources, each URL once, in order: source n is at n - 1."""
    sources: dict[str, Source] = {}
    for outcome in outcomes:
        if outcome.status == "done":
            for source in outcome.sources:
                sources.setdefault(source.url, source)
    return tuple(sources.values())
