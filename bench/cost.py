"""Benchmark 5: what a run costs us. CPU seconds per run with zero LLM latency (so the
process never waits on Claude), with the run store on disk and without it; the store's
writes per run; and resident memory per live run with many runs held open by long LLM
latencies. CPU and memory are read from the app's own process (/proc), so the fakes and
the load driver, which live in this process, are not counted; their share is reported
apart. The store's writes are counted inside the app process (`bench.app_probe`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

from bench.app_probe import GcPause, WriteCounts
from bench.driver import AnswerWatch, send, signed_command
from bench.plans import Case, independent, plan_json
from bench.scripting import ANSWER, script
from bench.world import WARM_UP, BenchWorld, StoreMode, bench_world
from pipeline import PipelineConfig, run_pipeline
from pipeline.testing import ScriptedLLM

SUBTASKS = 3  # the default plan size of the fake: a typical small run


@dataclass(frozen=True)
class CpuCost:
    """CPU seconds per run."""

    runs: int
    app_s: float  # the app process: Bolt, pipeline, SDKs, Slack I/O, the store on disk
    app_without_store_s: float  # the same, with NullStore: no store writes at all
    driver_and_fakes_s: float  # this process: load driver and both fakes, for scale
    pipeline_only_s: float  # run_pipeline with the in-memory fake LLM: no HTTP, no SDK
    writes: WriteCounts  # the store's writes over the `runs` runs (store on disk)
    full_gcs: tuple[GcPause, ...]  # the app's generation-2 collections over those runs
    full_gcs_without_store: tuple[GcPause, ...]

    @property
    def store_s(self) -> float:
        """CPU per run the store adds."""
        return self.app_s - self.app_without_store_s


@dataclass(frozen=True)
class MemoryCost:
    """Resident memory added per live run."""

    runs: int
    baseline_bytes: int
    per_run_bytes: float


async def _burst(world: BenchWorld, runs: int, prefix: str) -> None:
    watch = AnswerWatch(world.slack, ANSWER)
    try:
        await asyncio.gather(
            *(
                send(
                    world.http,
                    world.app.url,
                    signed_command(world.slack, f"q{i}", user="U1", channel=f"{prefix}-{i}"),
                )
                for i in range(runs)
            )
        )
        await watch.wait(runs, within=60 + runs)
    finally:
        watch.close()


def _in_flight(world: BenchWorld) -> int:
    return sum(1 for c in world.claude.calls_for("subagent") if c.finished_at == 0)


async def _pipeline_only_cpu(case: Case, runs: int) -> float:
    llm = ScriptedLLM(plan=plan_json(case), answer=ANSWER)
    config = PipelineConfig(max_subtasks=case.max_subtasks, concurrency=case.concurrency)
    await run_pipeline("warm-up", llm=llm, config=config)
    started = time.process_time()
    for i in range(runs):
        result = await run_pipeline(f"goal {i}", llm=llm, config=config)
        if result.status != "succeeded":
            raise RuntimeError(f"pipeline run {result.status}: {result.error}")
    return (time.process_time() - started) / runs


@dataclass(frozen=True)
class AppCpu:
    """CPU per run of one app process, and what its store wrote meanwhile."""

    app_s: float
    here_s: float  # this process (load driver and fakes)
    writes: WriteCounts
    full_gcs: tuple[GcPause, ...]
    threads_s: dict[str, float]  # app_s by thread (`thread_kind`), per run
    gcs: tuple[int, ...] = ()  # the collector's passes over all the runs, by generation
    gc_s: tuple[float, ...] = ()  # their time per run, by generation


def thread_kind(name: str) -> str:
    """A thread's name as a kind: the event loop, the OpenTelemetry SDK's export threads by
    name, and the rest (the store's and asyncio's worker threads) together."""
    if name == "MainThread":
        return "event loop"
    return name if name.startswith("Otel") else "other threads"


def by_thread_kind(used: Mapping[str, float], names: Mapping[str, str]) -> dict[str, float]:
    """CPU by native thread id, summed by `thread_kind` (an id the names lack had ended)."""
    kinds: dict[str, float] = {}
    for tid, seconds in used.items():
        kind = thread_kind(names[tid]) if tid in names else "other threads"
        kinds[kind] = kinds.get(kind, 0.0) + seconds
    return kinds


@dataclass(frozen=True)
class Setup:
    """How one of the compared app processes is set up."""

    store: StoreMode
    otlp_endpoint: str = ""  # "" telemetry off


# After each burst, before its CPU is read: long enough for the store's write buffer
# (`bot.store.buffer.FLUSH_AFTER_S`) and the exporters' intervals (benchmark 11) to fire, so
# the work a burst caused is inside its window and not in the other process's.
SETTLE_S = 1.5


async def app_cpu(
    runs: int, batch: int, store: StoreMode, *, profile_path: str = "", otlp_endpoint: str = ""
) -> AppCpu:
    """`runs` zero-latency runs in bursts of `batch` on one app process, Slack pacing off
    (pacing only ever waits, and its waits would stretch the benchmark; benchmark 4 covers
    Slack's limits). `otlp_endpoint`: the app exports its traces and metrics there."""
    [cpu] = await paired_cpu(runs, batch, Setup(store, otlp_endpoint), profile_path=profile_path)
    return cpu


async def paired_cpu(runs: int, batch: int, *setups: Setup, profile_path: str = "") -> list[AppCpu]:
    """CPU per run of one app process per setup, all up at once and measured in turns: a
    burst of `batch` runs on each in turn (the order flips every round), until each has run
    `runs`. A ratio between them is then one of like with like: a machine whose load drifts
    (these are shared) weighs on every setup alike, which measuring one process after the
    other did not (ratios moved 1.0-1.5x between runs of the same code)."""
    case = independent("cpu", SUBTASKS, 0.0, plan_latency=0.0, integrator_latency=0.0)
    async with contextlib.AsyncExitStack() as stack:
        worlds = [
            await stack.enter_async_context(
                bench_world(
                    case,
                    pacing=False,
                    profile_path=profile_path,
                    store=setup.store,
                    runs_cap=runs + batch,
                    otlp_endpoint=setup.otlp_endpoint,
                )
            )
            for setup in setups
        ]
        for world in worlds:
            await world.warm_up()
            script(world.claude, case)
            await _burst(world, batch, "C-cpu-warm")
            await world.app.wait_idle(world.http)
        before = [await world.app.probe() for world in worlds]
        app_s, here_s = [0.0] * len(worlds), [0.0] * len(worlds)
        threads_s: list[dict[str, float]] = [{} for _ in worlds]
        for round_, first in enumerate(range(0, runs, batch)):
            turns = list(enumerate(worlds))
            for k, world in turns if round_ % 2 == 0 else reversed(turns):
                app_before, here_before = world.app.cpu_seconds(), time.process_time()
                threads_before = world.app.thread_cpu_seconds()
                await _burst(world, min(batch, runs - first), f"C-cpu-{first}")
                await world.app.wait_idle(world.http)
                await asyncio.sleep(SETTLE_S)
                app_s[k] += world.app.cpu_seconds() - app_before
                here_s[k] += time.process_time() - here_before
                for tid, seconds in world.app.thread_cpu_seconds().items():
                    used = seconds - threads_before.get(tid, 0.0)
                    threads_s[k][tid] = threads_s[k].get(tid, 0.0) + used
        after = [await world.app.probe() for world in worlds]
    return [
        AppCpu(
            app_s[k] / runs,
            here_s[k] / runs,
            after[k].writes - before[k].writes,
            tuple(p for p in after[k].pauses[len(before[k].pauses) :] if p.generation == 2),
            {
                kind: seconds / runs
                for kind, seconds in by_thread_kind(threads_s[k], after[k].threads).items()
            },
            tuple(a - b for a, b in zip(after[k].gcs, before[k].gcs, strict=True)),
            tuple((a - b) / runs for a, b in zip(after[k].gc_s, before[k].gc_s, strict=True)),
        )
        for k in range(len(worlds))
    ]


async def cpu_per_run(runs: int, batch: int) -> CpuCost:
    """CPU per run with the store on disk and with `NullStore`, and the store's writes."""
    case = independent("cpu", SUBTASKS, 0.0, plan_latency=0.0, integrator_latency=0.0)
    with_store, without = await paired_cpu(runs, batch, Setup("disk"), Setup("none"))
    if without.writes.statements:
        # A write NullStore does not skip: "without the store" would not be without it.
        raise RuntimeError(
            f"NullStore let writes through ({without.writes.by_statement}); "
            "skip the new store write in bench/app_probe.py"
        )
    pipeline_only = await _pipeline_only_cpu(case, runs)
    return CpuCost(
        runs,
        with_store.app_s,
        without.app_s,
        with_store.here_s,
        pipeline_only,
        with_store.writes,
        with_store.full_gcs,
        without.full_gcs,
    )


async def memory_per_run(runs: int, latency: float) -> MemoryCost:
    """Hold `runs` runs open (every subagent call waiting `latency` s); RSS delta per run."""
    case = independent("memory", SUBTASKS, latency, plan_latency=0.0, integrator_latency=0.0)
    async with bench_world(case, runs_cap=runs + 5) as world:
        script(world.claude, WARM_UP)
        await _burst(world, 5, "C-mem-warm")
        await world.app.wait_idle(world.http)
        baseline = world.app.rss_bytes()
        script(world.claude, case)
        held = runs * SUBTASKS
        await asyncio.gather(
            *(
                send(
                    world.http,
                    world.app.url,
                    signed_command(world.slack, f"q{i}", user="U1", channel=f"C-mem-{i}"),
                )
                for i in range(runs)
            )
        )
        async with asyncio.timeout(60 + runs / 5):
            # Polling on purpose: the fake Claude counts calls in flight but has no notifier.
            while _in_flight(world) < held:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        if await world.app.live_runs(world.http) != runs:
            raise RuntimeError("runs ended before they could be measured")
        await asyncio.sleep(0.5)  # let the plan messages' first edits settle
        held_rss = world.app.rss_bytes()
    return MemoryCost(runs, baseline, (held_rss - baseline) / runs)
