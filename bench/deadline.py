"""Benchmark 12: a deadline that always answers, and estimates that come true (issue 22).

(a) A run whose second subagent hangs, with ORCHESTRA_RUN_DEADLINE_S = `deadline_s`: when
its answer shows, less the integrator call's own time (from the fake Claude's log), against
the deadline. The target: at most 1.05 times the deadline, plus the integrator call.

(b) The fake's scripted runs one after another, 2 to 5 subtasks of different latencies: each
plan's estimate (cost and time, as the plan showed it, corrected by the runs before it) against
what the run cost and how long it worked, from the app's run store. The first runs have no
history to learn from (`pipeline.estimate.HISTORY_MIN`): only the runs after them count."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from bench.driver import send, signed_command
from bench.plans import Case, independent, marker
from bench.report import Report, Table, Verdict
from bench.scripting import ANSWER, script
from bench.slack_priority import _environment, _until, whole_answers
from bench.world import bench_world
from bot.store import RunStore, RunSummary
from pipeline.estimate import HISTORY_MIN
from sandbox.fakes.claude import Fault

RATIO_TARGET = 1.05
ACCURACY_TARGET = 0.30  # ±30 %


@dataclass(frozen=True)
class Hung:
    """When a run with a hung subagent answered."""

    deadline_s: float
    answer_s: float  # from the request to the whole answer in the thread
    integrator_s: float  # the integrator call's own time

    @property
    def ratio(self) -> float:
        """The answer's time less the integrator call, over the deadline."""
        return (self.answer_s - self.integrator_s) / self.deadline_s


@dataclass(frozen=True)
class Estimated:
    """One scripted run: its estimate and what it really cost and took."""

    subtasks: int
    estimate_usd: float
    actual_usd: float
    estimate_s: float
    actual_s: float
    learned: bool  # enough runs before it for history to correct its estimate

    @property
    def usd_error(self) -> float:
        """How far the cost estimate was, as a share of the actual."""
        return abs(self.estimate_usd - self.actual_usd) / self.actual_usd

    @property
    def time_error(self) -> float:
        """How far the time estimate was, as a share of the actual."""
        return abs(self.estimate_s - self.actual_s) / self.actual_s


async def hung_run(deadline_s: float, latency: float, within: float = 120) -> Hung:
    """One run of three subtasks whose second hangs, under a `deadline_s` deadline."""
    case = independent("deadline", 3, latency, integrator_latency=latency)
    async with contextlib.AsyncExitStack() as stack:
        with _environment(ORCHESTRA_RUN_DEADLINE_S=f"{deadline_s:g}"):
            world = await stack.enter_async_context(bench_world(case))
        script(world.claude, case)
        world.claude.inject(
            Fault(match=lambda call: marker("s2") in call.system_text, times=None, hang=True)
        )
        started = time.monotonic()
        await send(
            world.http, world.app.url, signed_command(world.slack, "hung", user="U1", channel="H1")
        )
        await _until(world.slack, lambda: bool(whole_answers(world.slack, ANSWER)), within)
        answer_s = time.monotonic() - started
        [integrator] = world.claude.calls_for("integrator")
        return Hung(deadline_s, answer_s, integrator.finished_at - integrator.started_at)


def _cases(runs: int, latency: float) -> list[Case]:
    """`runs` plans of 2 to 5 subtasks, their latencies varying around `latency`."""
    return [
        independent(f"e{i}", 2 + i % 4, latency * (1 + (i % 3) / 4), integrator_latency=latency)
        for i in range(runs)
    ]


async def _finished(database_url: str, runs: int, within: float) -> list[RunSummary]:
    """The app's last `runs` runs once each has its estimate, cost and working time (the
    answer shows before the run's row is finished)."""
    store = await RunStore.open(database_url)
    try:
        async with asyncio.timeout(within):
            while True:
                found = await store.recent_runs(limit=runs)
                if all(r.cost_usd is not None and r.estimate_s and r.work_s for r in found):
                    return found
                await asyncio.sleep(0.1)
    finally:
        await store.close()


async def estimated_runs(runs: int, latency: float, within: float = 120) -> list[Estimated]:
    """`runs` scripted runs, one after another, each plan's estimate beside its actuals."""
    cases = _cases(runs, latency)
    widest = max(cases, key=lambda case: case.max_subtasks)
    found: list[Estimated] = []
    async with bench_world(widest) as world:
        for i, case in enumerate(cases):
            await asyncio.wait_for(world.run_once(case, f"E{i}"), within)
            await world.app.wait_idle(world.http)
        summaries = await _finished(world.database_url, runs, within)
    ordered = sorted(summaries, key=lambda s: s.created_at)
    for i, (case, run) in enumerate(zip(cases, ordered, strict=True)):
        if run.estimate_usd is None or run.estimate_s is None or run.cost_usd is None:
            raise RuntimeError(f"run {run} has no estimate or cost")
        found.append(
            Estimated(
                len(case.steps),
                run.estimate_usd,
                run.cost_usd,
                run.estimate_s,
                run.work_s,
                learned=i >= HISTORY_MIN,
            )
        )
    return found


async def section(report: Report, *, deadline_s: float, latency: float, estimate_runs: int) -> None:
    """Run both; add their verdicts and table to `report`."""
    hung = await hung_run(deadline_s, latency)
    runs = await estimated_runs(estimate_runs, latency)
    learned = [r for r in runs if r.learned]
    worst_usd = max(r.usd_error for r in learned)
    worst_s = max(r.time_error for r in learned)
    report.values.update(
        {
            "deadline.answer_s": hung.answer_s,
            "deadline.integrator_s": hung.integrator_s,
            "deadline.ratio": hung.ratio,
            "estimate.worst_usd_error": worst_usd,
            "estimate.worst_time_error": worst_s,
            "estimate.first_time_error": runs[0].time_error,
        }
    )
    report.verdicts.append(
        Verdict(
            f"12. one hung subagent, deadline {deadline_s:g} s: answer less the integrator call",
            f"≤ {RATIO_TARGET:g}x the deadline",
            f"{hung.ratio:.3f}x ({hung.answer_s:.2f} s, integrator {hung.integrator_s:.2f} s)",
            hung.ratio <= RATIO_TARGET,
        )
    )
    report.verdicts.append(
        Verdict(
            f"12. estimate vs actual, {len(learned)} scripted runs with history",
            f"within ±{ACCURACY_TARGET:.0%} (cost and time)",
            f"worst {worst_usd:.0%} cost, {worst_s:.0%} time",
            worst_usd <= ACCURACY_TARGET and worst_s <= ACCURACY_TARGET,
        )
    )
    rows = [
        (
            "Hung subagent: request to answer; the integrator call; (answer - integrator) / "
            "deadline",
            f"{hung.answer_s:.2f} s; {hung.integrator_s:.2f} s; {hung.ratio:.3f}x",
        )
    ]
    rows += [
        (
            f"Run {i + 1}: {r.subtasks} subtasks{'' if r.learned else ' (no history yet)'}",
            f"${r.estimate_usd:.4f} vs ${r.actual_usd:.4f} ({r.usd_error:.0%}); "
            f"{r.estimate_s:.1f} s vs {r.actual_s:.1f} s ({r.time_error:.0%})",
        )
        for i, r in enumerate(runs)
    ]
    report.tables.append(
        Table(
            "12. Deadline and estimates",
            ("measure", "value"),
            rows,
            (
                "Time is the run's working time (ORCHESTRA_RUN_DEADLINE_S counts it); cost is "
                "the spend ledger's, at the configured prices, from the fake's usage.",
                "Each estimate is what its plan showed: the plan's basis corrected by the median "
                "actual/basis of the workspace's earlier runs at the same effort.",
            ),
        )
    )
