"""The benchmark suite at a given size: runs every benchmark and builds the report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench import ack, cost, critical, slack_budget
from bench.plans import Case, chain_dag, independent
from bench.report import Report, Table, Verdict

MB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is."""

    cases: tuple[Case, ...]
    naive_max_subtasks: int  # the sequential baseline is skipped beyond this many subtasks
    ack_requests: int
    ack_latency: float
    budget_runs: int
    budget_latency: float
    cpu_runs: int
    cpu_batch: int
    memory_runs: int
    memory_latency: float
    concurrent: bool = False  # run the benchmarks side by side (only where timings don't matter)


FULL = Sizes(
    cases=(
        independent("4 independent x 1 s", 4, 1.0),
        independent("20 subtasks x 1 s, cap 5", 20, 1.0, concurrency=5),
        chain_dag("DAG: two 2-deep chains + one long", 1.0),
    ),
    naive_max_subtasks=20,
    ack_requests=100,
    ack_latency=1.0,
    budget_runs=20,
    budget_latency=1.0,
    cpu_runs=200,
    cpu_batch=20,
    memory_runs=200,
    memory_latency=60.0,
)

# For the test suite: every code path, tiny sizes, seconds not minutes.
SMOKE = Sizes(
    cases=(
        independent("2 independent x 0.1 s", 2, 0.1, plan_latency=0.05, integrator_latency=0.05),
    ),
    naive_max_subtasks=20,
    ack_requests=5,
    ack_latency=0.1,
    budget_runs=2,
    budget_latency=0.1,
    cpu_runs=4,
    cpu_batch=2,
    memory_runs=4,
    memory_latency=30.0,
    concurrent=True,
)


def _s(seconds: float) -> str:
    return f"{seconds:.3f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _x(ratio: float) -> str:
    return f"{ratio:.3f}"


async def _critical(sizes: Sizes, report: Report) -> None:
    rows, versus = [], []
    for case in sizes.cases:
        times = await critical.measure(case, naive=len(case.steps) <= sizes.naive_max_subtasks)
        app_ratio = times.app / times.critical
        rows.append(
            (
                case.name,
                _s(times.critical),
                _s(times.app),
                _x(app_ratio),
                _s(times.pipeline),
                _x(times.pipeline / times.critical),
            )
        )
        naive = times.naive
        versus.append(
            (
                case.name,
                _s(times.app),
                _s(times.pipeline),
                _s(times.gather),
                _s(naive) if naive else "skipped",
                _x(times.app / times.gather),
                _x(times.pipeline / times.gather),
                _x(times.app / naive) if naive else "-",
            )
        )
        report.values[f"critical.{case.name}.ratio"] = app_ratio
        report.values[f"critical.{case.name}.pipeline_ratio"] = times.pipeline / times.critical
        report.verdicts.append(
            Verdict(f"1. critical path: {case.name}", "≤ 1.05", _x(app_ratio), app_ratio <= 1.05)
        )
    report.tables.append(
        Table(
            "1. Wall time vs the LLM critical path",
            (
                "case",
                "LLM critical path s",
                "app: request → answer visible s",
                "ratio",
                "pipeline alone s",
                "ratio",
            ),
            rows,
            (
                "LLM critical path = plan latency + subtask makespan under the concurrency cap "
                "(greedy list scheduling, as the scheduler does) + integrator latency.",
                "App: the real app in HTTP mode in its own process, a signed `/research`, timed "
                "until the answer is posted in the fake Slack thread (seen via `subscribe()`).",
                "Pipeline alone: `run_pipeline` with the Anthropic adapter over the real SDK.",
            ),
        )
    )
    report.tables.append(
        Table(
            "2. Against the seed's patterns (same fake, same SDK)",
            (
                "case",
                "ours: app s",
                "ours: pipeline s",
                "gather s",
                "naive loop s",
                "app / gather",
                "pipeline / gather",
                "app / naive",
            ),
            versus,
            (
                "gather: plan call, `asyncio.gather` of the subtask calls (level by level when "
                "there are dependencies, under the same concurrency cap), integrator call; "
                "no events, no Slack, no retries.",
                "naive loop: plan call, one subtask call after another, integrator call.",
            ),
        )
    )


async def _ack(sizes: Sizes, report: Report) -> None:
    stats = await ack.measure(sizes.ack_requests, sizes.ack_latency)
    report.values.update({"ack.p50": stats.p50, "ack.p99": stats.p99, "ack.max": stats.max})
    report.verdicts.append(
        Verdict(
            f"3. ack p99 ({stats.requests} concurrent)",
            "< 100 ms",
            f"{_ms(stats.p99)} ms",
            stats.p99 < 0.1,
        )
    )
    report.tables.append(
        Table(
            "3. Ack latency of concurrent /research on one process",
            ("requests", "p50 ms", "p99 ms", "max ms"),
            [(str(stats.requests), _ms(stats.p50), _ms(stats.p99), _ms(stats.max))],
            (
                "Client-side time from sending each signed request to the app's HTTP response; "
                "all sent at once, each starting a run in its own channel.",
            ),
        )
    )


async def _budget(sizes: Sizes, report: Report) -> None:
    budget = await slack_budget.measure(sizes.budget_runs, sizes.budget_latency)
    runs = budget.runs
    rows = [(m, str(n), f"{n / runs:.2f}") for m, n in sorted(budget.by_method.items())]
    rows += [
        ("429 received", str(budget.rate_limited), f"{budget.rate_limited / runs:.2f}"),
        ("other errors", str(budget.errors), f"{budget.errors / runs:.2f}"),
    ]
    report.values.update(
        {
            "slack.429": budget.rate_limited,
            "slack.posts_per_run": budget.posts_per_run,
            "slack.updates_per_run": budget.updates_per_run,
        }
    )
    report.verdicts.append(
        Verdict(
            f"4. Slack 429s ({runs} runs, one channel, strict)",
            "0",
            str(budget.rate_limited),
            budget.rate_limited == 0,
        )
    )
    report.verdicts.append(
        Verdict(
            "4. Slack calls per run",
            "≤ 4 + coalesced updates",
            f"{budget.posts_per_run:.2f} + {budget.updates_per_run:.2f} updates "
            f"(max {budget.max_updates_per_run}, its bound {budget.max_update_bound})",
            budget.posts_per_run <= 4 and budget.within_bound and budget.errors == 0,
        )
    )
    report.tables.append(
        Table(
            f"4. Slack Web API calls: {runs} concurrent runs in one channel, strict rate limits",
            ("method", "calls", "per run"),
            rows,
            (
                f"All {runs} answers visible after {budget.wall_s:.1f} s (Slack allows about one "
                "post per second per channel, and every run needs three).",
                "auth.test is Bolt's token check; the process is cold here, so a burst of "
                "requests each make one before the first answer is cached. Counted per run.",
                "Coalescing bound per run: floor(run seconds / update interval) + 2 edits; "
                f"every run within it: {'yes' if budget.within_bound else 'NO'}.",
            ),
        )
    )


async def _cost(sizes: Sizes, report: Report) -> None:
    cpu = await cost.cpu_per_run(sizes.cpu_runs, sizes.cpu_batch)
    memory = await cost.memory_per_run(sizes.memory_runs, sizes.memory_latency)
    report.values.update(
        {
            "cpu.app": cpu.app_s,
            "cpu.pipeline_only": cpu.pipeline_only_s,
            "memory.per_run": memory.per_run_bytes,
        }
    )
    report.verdicts.append(
        Verdict("5. CPU per run (app process)", "< 20 ms", f"{_ms(cpu.app_s)} ms", cpu.app_s < 0.02)
    )
    report.verdicts.append(
        Verdict(
            f"5. memory per live run ({memory.runs} open)",
            "< 1 MB",
            f"{memory.per_run_bytes / 1024:.0f} KiB",
            memory.per_run_bytes < MB,
        )
    )
    report.tables.append(
        Table(
            "5. Cost of a run to us",
            ("measure", "value"),
            [
                (
                    f"CPU per run, app process ({cpu.runs} runs, zero LLM latency)",
                    f"{_ms(cpu.app_s)} ms",
                ),
                (
                    "CPU per run, `run_pipeline` alone (in-memory fake LLM)",
                    f"{_ms(cpu.pipeline_only_s)} ms",
                ),
                (
                    "CPU per run, load driver + both fakes (not ours; for scale)",
                    f"{_ms(cpu.driver_and_fakes_s)} ms",
                ),
                (
                    f"RSS per live run ({memory.runs} runs held open)",
                    f"{memory.per_run_bytes / 1024:.0f} KiB",
                ),
                ("RSS of the warm, idle app process", f"{memory.baseline_bytes / MB:.1f} MiB"),
            ],
            (
                "CPU: user+system time of the app process from /proc, over every run's whole "
                "life (signed request, Bolt, pipeline, SDK calls, Slack posts and edits, the "
                "answer); Slack pacing off there (it only waits).",
                "Memory: VmRSS of the app process with every run waiting in its subagent "
                "calls, minus the warm idle baseline, divided by the runs.",
            ),
        )
    )


async def run(sizes: Sizes) -> Report:
    """Every benchmark, one after another (side by side they would disturb each other's
    timings), or concurrently when `sizes.concurrent` says the numbers are not the point."""
    sections = (_critical, _ack, _budget, _cost)
    parts = [Report() for _ in sections]
    if sizes.concurrent:
        async with asyncio.TaskGroup() as group:
            for section, part in zip(sections, parts, strict=True):
                group.create_task(section(sizes, part))
    else:
        for section, part in zip(sections, parts, strict=True):
            await section(sizes, part)
    report = Report()
    for part in parts:
        report.extend(part)
    return report
