"""Benchmark 7: admission control. `requests` people ask at once with the app's live-run cap
at `cap`: the most runs with a Claude call in flight at one moment (from the fake Claude's
own call log), against the cap; every run answered; strict Slack limits, 429s counted.

Each run's calls are told apart by a tag in its goal, which the scripted plan copies into
every subtask's input."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass

from bench.driver import send, signed_command
from bench.plans import independent
from bench.report import Report, Table, Verdict
from bench.scripting import ANSWER
from bench.slack_priority import _environment, _until, whole_answers
from bench.world import bench_world
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply

_TAG = re.compile(r"\[q(\d+)\]")


@dataclass(frozen=True)
class Queue:
    """What the cap held."""

    requests: int
    cap: int
    peak_runs_calling: int
    answered: int
    wall_s: float
    rate_limited: int


def _script(claude: FakeAnthropic, latency: float) -> None:
    def plan(call: CallInfo) -> Reply:
        found = _TAG.search(call.user_text)
        tagged = simple_plan("goal")
        for task in tagged["subtasks"]:
            task["input"] = f"{task['input']} {found.group(0) if found else ''}"
        return Reply(json=tagged, latency=latency / 2)

    claude.respond("orchestrator", plan)
    claude.respond("subagent", lambda call: Reply(text="Findings.", latency=latency))
    claude.respond("integrator", lambda call: Reply(text=ANSWER, latency=latency / 2))


def peak_runs_calling(claude: FakeAnthropic) -> int:
    """The most runs with a call in flight at the same moment."""
    moments: list[tuple[float, int, str]] = []
    for call in claude.calls:
        found = _TAG.search(str(call.body.get("messages")))
        run = found.group(1) if found else "?"
        moments += [(call.started_at, 1, run), (call.finished_at, -1, run)]
    in_flight: dict[str, int] = {}
    peak = 0
    for _, step, run in sorted(moments, key=lambda m: (m[0], m[1])):
        in_flight[run] = in_flight.get(run, 0) + step
        peak = max(peak, sum(1 for n in in_flight.values() if n > 0))
    return peak


async def queue(requests: int, cap: int, latency: float, within: float = 120) -> Queue:
    """`requests` people's /research at once, in as many channels, under a cap of `cap`."""
    case = independent("queue", 3, latency)
    async with contextlib.AsyncExitStack() as stack:
        with _environment(ORCHESTRA_MAX_LIVE_RUNS=str(cap)):
            world = await stack.enter_async_context(bench_world(case, strict_rate_limits=True))
        _script(world.claude, latency)
        started = time.monotonic()
        await asyncio.gather(
            *(
                send(
                    world.http,
                    world.app.url,
                    signed_command(world.slack, f"[q{i}] question", user=f"U{i}", channel=f"Q{i}"),
                )
                for i in range(requests)
            )
        )

        def answered() -> int:
            return len(whole_answers(world.slack, ANSWER))

        await _until(world.slack, lambda: answered() == requests, within)
        return Queue(
            requests=requests,
            cap=cap,
            peak_runs_calling=peak_runs_calling(world.claude),
            answered=answered(),
            wall_s=time.monotonic() - started,
            rate_limited=world.slack.rate_limited_count,
        )


async def section(report: Report, *, requests: int, cap: int, latency: float) -> None:
    """Run it; add its verdict and table to `report`."""
    result = await queue(requests, cap, latency)
    held = result.peak_runs_calling <= cap and result.answered == requests
    report.verdicts.append(
        Verdict(
            f"7. queue: {requests} people at once, ORCHESTRA_MAX_LIVE_RUNS={cap}",
            f"runs calling Claude ≤ {cap}, all answered, 0 429s",
            f"peak {result.peak_runs_calling}, {result.answered}/{requests} answered, "
            f"{result.rate_limited} 429s",
            held and result.rate_limited == 0,
        )
    )
    report.tables.append(
        Table(
            "7. Admission control, strict rate limits",
            ("people asking at once", "cap", "peak runs calling Claude", "answered", "wall s"),
            [
                (
                    str(requests),
                    str(cap),
                    str(result.peak_runs_calling),
                    f"{result.answered}/{requests}",
                    f"{result.wall_s:.1f}",
                )
            ],
            ("From the fake Claude's call log: a run counts while any of its calls is open.",),
        )
    )
