"""Benchmark cases: a plan's shape and its scripted LLM latencies, and the LLM-only
critical path they imply (what a run would take if the code around the calls cost nothing)."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    """One subtask: its id, scripted latency (s) and the ids it depends on."""

    id: str
    latency: float
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    """A plan shape and the latency of every LLM call it makes."""

    name: str
    steps: tuple[Step, ...]
    plan_latency: float
    integrator_latency: float
    concurrency: int = 5
    by_id: Mapping[str, Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {s.id: s for s in self.steps})

    @property
    def max_subtasks(self) -> int:
        """The `max_subtasks` this plan needs (PipelineConfig allows 2..20)."""
        return max(2, len(self.steps))


def marker(step_id: str) -> str:
    """A token placed in a subtask's system prompt so the fake can tell subtasks apart."""
    return f"[bench-step:{step_id}]"


def plan_json(case: Case) -> dict[str, Any]:
    """The orchestrator's structured output for `case`."""
    return {
        "goal": f"Benchmark case {case.name}.",
        "subtasks": [
            {
                "id": step.id,
                "role": f"Researcher {step.id}",
                "system_prompt": f"You research part {step.id}. {marker(step.id)}",
                "input": f"Describe part {step.id}.",
                "output_format": "markdown",
                "depends_on": list(step.depends_on),
            }
            for step in case.steps
        ],
    }


def subtask_makespan(case: Case) -> float:
    """When the last subtask ends under greedy list scheduling with the concurrency cap.

    The same policy as `pipeline.scheduler`: a subtask starts as soon as its dependencies
    are done and a slot is free, ready subtasks taking slots in plan order. With no cap this
    is the longest dependency chain; with uniform latencies and no dependencies it is
    ceil(n / cap) * latency."""
    done_at: dict[str, float] = {}
    running: list[tuple[float, str]] = []  # (end time, id), a heap
    waiting = list(case.steps)
    now = 0.0
    while waiting or running:
        ready = [s for s in waiting if all(d in done_at for d in s.depends_on)]
        for step in ready:
            if len(running) >= case.concurrency:
                break
            heapq.heappush(running, (now + step.latency, step.id))
            waiting.remove(step)
        if not running:
            raise ValueError(f"case {case.name}: dependencies can never be met")
        now, finished = heapq.heappop(running)
        done_at[finished] = now
    return now


def critical_path(case: Case) -> float:
    """Plan latency + subtask makespan under the cap + integrator latency."""
    return case.plan_latency + subtask_makespan(case) + case.integrator_latency


def levels(case: Case) -> list[list[Step]]:
    """The plan cut into dependency levels (what a wave-by-wave fan-out runs)."""
    depth: dict[str, int] = {}

    def level_of(step: Step) -> int:
        if step.id not in depth:
            deps = [level_of(case.by_id[d]) for d in step.depends_on]
            depth[step.id] = 1 + max(deps, default=-1)
        return depth[step.id]

    out: list[list[Step]] = []
    for step in case.steps:
        index = level_of(step)
        while len(out) <= index:
            out.append([])
        out[index].append(step)
    return out


def independent(
    name: str,
    count: int,
    latency: float,
    *,
    concurrency: int = 5,
    plan_latency: float = 0.5,
    integrator_latency: float = 0.5,
) -> Case:
    """`count` independent subtasks of equal latency."""
    steps = tuple(Step(f"s{i}", latency) for i in range(1, count + 1))
    return Case(name, steps, plan_latency, integrator_latency, concurrency)


def chain_dag(
    name: str, unit: float, *, plan_latency: float = 0.5, integrator_latency: float = 0.5
) -> Case:
    """Two 2-deep chains and one long independent subtask, all on a critical path of 2 units.

    Waves (a gather per dependency level) take 3.5 units here: level 0 waits for the long
    subtask, level 1 for the slower second link."""
    steps = (
        Step("a1", unit),
        Step("a2", unit, ("a1",)),
        Step("b1", unit / 2),
        Step("b2", unit * 1.5, ("b1",)),
        Step("c1", unit * 2),
    )
    return Case(name, steps, plan_latency, integrator_latency, concurrency=5)
