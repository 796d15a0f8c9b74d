"""Benchmarks 1 and 2: wall time against the LLM critical path, for the full app (signed
request -> answer visible in the fake Slack thread; with its run store in a SQLite file,
and without the store for comparison), the pipeline alone, and the seed's patterns (a
sequential loop, a gather fan-out) on the same fake Claude and SDK."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anthropic

from bench import baselines
from bench.plans import Case, critical_path
from bench.scripting import ANSWER, script
from bench.world import WARM_UP, StoreMode, bench_world
from pipeline import PipelineConfig, run_pipeline
from pipeline.anthropic_llm import AnthropicLLM
from sandbox.fakes.claude import FakeAnthropic

GOAL = "Benchmark goal: measure what the code adds to the LLM's latency."


@dataclass(frozen=True)
class PathTimes:
    """Wall seconds of one case along every path, and its LLM-only critical path."""

    case: Case
    critical: float
    app: float  # the run store in a SQLite file, as in production
    app_without_store: float  # the same app with NullStore: no store writes
    pipeline: float
    gather: float
    naive: float | None  # None when skipped (it only grows with the subtask count)


async def _timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def _app_time(case: Case, store: StoreMode) -> float:
    async with bench_world(case, store=store) as world:
        await world.warm_up()
        return await world.run_once(case, "C-critical")


async def _pipeline_alone(claude: FakeAnthropic, case: Case) -> float:
    client = anthropic.AsyncAnthropic(
        api_key=claude.api_key, base_url=claude.base_url, max_retries=0, timeout=60
    )
    llm = AnthropicLLM(client)
    config = PipelineConfig(max_subtasks=case.max_subtasks, concurrency=case.concurrency)

    async def once() -> None:
        result = await run_pipeline(GOAL, llm=llm, config=config)
        if result.status != "succeeded" or result.answer != ANSWER:
            raise RuntimeError(f"pipeline run {result.status}: {result.error}")

    try:
        script(claude, WARM_UP)
        await once()
        script(claude, case)
        return await _timed(once)
    finally:
        await client.close()


async def _baselines(claude: FakeAnthropic, case: Case, naive: bool) -> tuple[float, float | None]:
    # The SDK's own retries are off here too: the fake never fails, and the comparison
    # should be of the same calls.
    client = anthropic.AsyncAnthropic(
        api_key=claude.api_key, base_url=claude.base_url, max_retries=0, timeout=60
    )
    try:
        script(claude, WARM_UP)
        await baselines.gather(client, GOAL, WARM_UP)
        script(claude, case)
        gathered = await _timed(lambda: baselines.gather(client, GOAL, case))
        sequential = await _timed(lambda: baselines.naive(client, GOAL)) if naive else None
        return gathered, sequential
    finally:
        await client.close()


async def measure(case: Case, *, naive: bool = True) -> PathTimes:
    """Every path for one case; the app first, in a fresh process, then the in-process ones."""
    app = await _app_time(case, "disk")
    app_without_store = await _app_time(case, "none")
    async with FakeAnthropic() as claude:
        pipeline = await _pipeline_alone(claude, case)
        gathered, sequential = await _baselines(claude, case, naive)
    return PathTimes(
        case, critical_path(case), app, app_without_store, pipeline, gathered, sequential
    )
