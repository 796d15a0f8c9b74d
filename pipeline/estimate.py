"""What a plan will cost (US$) and take (seconds), before its subagents start.

Two steps. The basis is the plan's own figure: each call's likely tokens (its prompt's
length, a share of its output cap, the web's results) at its model's price, and its time
along the plan's critical path. History then corrects the basis by how far the actuals of
similar earlier runs were from theirs (the median ratio; a model's real output length and
speed are what a basis cannot know). Pure: the caller reads the history."""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pipeline.config import PipelineConfig
from pipeline.llm import Usage
from pipeline.models import Plan, SubTask
from pipeline.usage import cost_of

CHARS_PER_TOKEN = 4  # English text, roughly: what a prompt's length tells of its tokens
PROMPT_OVERHEAD_TOKENS = 300  # the fixed instructions around each call's own text
OUTPUT_SHARE = 0.5  # a reply writes about half its cap (history corrects this)
SEARCHES_PER_WEB_TASK = 2
TOKENS_PER_SEARCH = 2_000  # a search's results, read as input
TOKENS_PER_SECOND = 60.0  # output speed (history corrects this too)
CALL_LATENCY_S = 1.5  # time to a call's first token
HISTORY_MIN = 3  # fewer similar runs than this: the basis alone
HISTORY_MAX = 20  # the most recent ones count


@dataclass(frozen=True, slots=True)
class Estimate:
    """The figures a plan shows: corrected by history, and the basis they came from.

    `usd` None: a model without a known price takes part (its cost is unknown)."""

    usd: float | None
    seconds: float
    basis_usd: float | None
    basis_s: float


@dataclass(frozen=True, slots=True)
class Past:
    """An earlier, similar run: its basis and what it really cost and took."""

    basis_usd: float | None
    basis_s: float | None
    actual_usd: float | None
    actual_s: float


def _tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _subtask_usage(task: SubTask, plan: Plan, config: PipelineConfig) -> Usage:
    deps = plan.by_id()
    written = int(config.subagent_max_tokens * OUTPUT_SHARE)
    prompt = _tokens(task.system_prompt) + _tokens(task.input) + PROMPT_OVERHEAD_TOKENS
    prompt += written * len([d for d in task.depends_on if d in deps])
    searches = SEARCHES_PER_WEB_TASK if task.needs_web and config.web_search else 0
    return Usage(prompt + searches * TOKENS_PER_SEARCH, written, web_search_requests=searches)


def _depths(plan: Plan) -> dict[str, int]:
    """Each subtask's place on its longest chain of dependencies (1: depends on none)."""
    tasks, depth = plan.by_id(), {}

    def of(task_id: str) -> int:
        if task_id not in depth:
            needs = [d for d in tasks[task_id].depends_on if d in tasks]
            depth[task_id] = 1 + max((of(d) for d in needs), default=0)
        return depth[task_id]

    for task in plan.subtasks:
        of(task.id)
    return depth


def basis(
    plan: Plan, config: PipelineConfig, planning: Usage | None = None, done: Collection[str] = ()
) -> tuple[float | None, float]:
    """The plan's own cost (what planning cost, and the calls to come) and time to come;
    `done`: subtasks done already (a resumed or continued run), not to be paid again."""
    todo = [task for task in plan.subtasks if task.id not in done]
    subtasks = [_subtask_usage(task, plan, config) for task in todo]
    answer_in = sum(u.output_tokens for u in subtasks) + PROMPT_OVERHEAD_TOKENS * 2
    answer = Usage(answer_in, int(config.integrator_max_tokens * OUTPUT_SHARE))
    costs = [
        cost_of(planning or Usage(), config.orchestrator_model, config),
        *(cost_of(u, config.subagent_model, config) for u in subtasks),
        cost_of(answer, config.integrator_model, config),
    ]
    usd = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    one_subtask = (
        CALL_LATENCY_S + int(config.subagent_max_tokens * OUTPUT_SHARE) / TOKENS_PER_SECOND
    )
    # The critical path: the longest chain, or the waves the concurrency limit makes.
    depths = _depths(plan)
    chain = max((depths[task.id] for task in todo), default=0)
    levels = max(chain, -(-len(subtasks) // config.concurrency))
    seconds = levels * one_subtask + CALL_LATENCY_S + answer.output_tokens / TOKENS_PER_SECOND
    return usd, seconds


def correction(history: Sequence[Past]) -> tuple[float, float]:
    """How far actuals were from their basis (median ratio, US$ and time), 1 and 1 with
    too little history."""
    recent = list(history)[:HISTORY_MAX]
    usd = [
        p.actual_usd / p.basis_usd
        for p in recent
        if p.actual_usd is not None and p.basis_usd and p.basis_usd > 0
    ]
    time = [p.actual_s / p.basis_s for p in recent if p.basis_s and p.basis_s > 0]
    return (
        statistics.median(usd) if len(usd) >= HISTORY_MIN else 1.0,
        statistics.median(time) if len(time) >= HISTORY_MIN else 1.0,
    )


def estimate(
    plan: Plan,
    config: PipelineConfig,
    planning: Usage | None = None,
    history: Sequence[Past] = (),
    done: Collection[str] = (),
) -> Estimate:
    """The plan's estimate: its basis, corrected by the history of similar runs (newest
    first)."""
    usd, seconds = basis(plan, config, planning, done)
    usd_factor, time_factor = correction(history)
    return Estimate(
        usd=None if usd is None else usd * usd_factor,
        seconds=seconds * time_factor,
        basis_usd=usd,
        basis_s=seconds,
    )


def estimate_text(found: Estimate) -> str:
    """The estimate as a plan shows it, e.g. "Estimate: about $0.04 and 1 min"."""
    usd = "an unknown cost" if found.usd is None else f"about ${found.usd:.2f}"
    if found.usd is not None and found.usd < 0.01:
        usd = "under $0.01"
    seconds = round(found.seconds)
    took = f"{seconds} s" if seconds < 90 else f"{round(seconds / 60)} min"
    return f"Estimate: {usd} and {took}"
