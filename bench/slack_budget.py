"""Benchmark 4: Slack Web API calls per run, and 429s, for concurrent runs in one channel
with the fake's strict rate limits on.

Per run the app needs a root message, the plan message and the answer (three posts); the
plan message's edits are coalesced to at most one per `update_interval_s` plus the final
state, so a run of D seconds may make at most floor(D / interval) + 2 edits."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from bench.driver import AnswerWatch, send, signed_command
from bench.plans import independent
from bench.scripting import ANSWER, script
from bench.world import bench_world
from sandbox.fakes.slack import FakeSlack

UPDATE_INTERVAL_S = 1.0  # the app's default (Settings.update_interval_s)


@dataclass(frozen=True)
class SlackBudget:
    """What the runs cost in Slack calls."""

    runs: int
    by_method: dict[str, int]
    rate_limited: int
    errors: int
    max_updates_per_run: int
    max_update_bound: int  # the coalescing bound of the run that came closest to its own
    within_bound: bool
    wall_s: float

    @property
    def posts_per_run(self) -> float:
        """Calls per run other than plan edits (auth.test included: Bolt checks the token on
        a cold cache, so a burst at start-up makes one call per request)."""
        other = sum(n for m, n in self.by_method.items() if m != "chat.update")
        return other / self.runs

    @property
    def updates_per_run(self) -> float:
        """Plan edits per run, on average."""
        return self.by_method.get("chat.update", 0) / self.runs


def _update_bounds(slack: FakeSlack, interval: float) -> list[tuple[int, int]]:
    """(edits, allowed edits) for every run, from the fake's record of calls."""
    plan_posted: dict[str, float] = {}  # plan message ts -> when it was posted
    thread_of_plan: dict[str, str] = {}
    last_post: dict[str, float] = {}  # thread -> when its last reply was posted
    for call in slack.calls_to("chat.postMessage"):
        thread = str(call.args.get("thread_ts") or "")
        if not thread or not call.response.get("ok"):
            continue
        if thread not in last_post:
            plan_posted[str(call.response["ts"])] = call.at
            thread_of_plan[str(call.response["ts"])] = thread
        last_post[thread] = call.at
    edits = Counter(str(c.args.get("ts")) for c in slack.calls_to("chat.update"))
    return [
        (edits[plan], int((last_post[thread_of_plan[plan]] - posted) // interval) + 2)
        for plan, posted in plan_posted.items()
    ]


async def measure(runs: int, latency: float) -> SlackBudget:
    """`runs` concurrent /research requests in channel C1; wait for every answer."""
    case = independent(
        "budget", 3, latency, plan_latency=latency / 2, integrator_latency=latency / 2
    )
    async with bench_world(case, strict_rate_limits=True, runs_cap=runs) as world:
        script(world.claude, case)
        watch = AnswerWatch(world.slack, ANSWER)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await asyncio.gather(
                *(
                    send(
                        world.http,
                        world.app.url,
                        signed_command(world.slack, f"q{i}", user=f"U{i}", channel="C1"),
                    )
                    for i in range(runs)
                )
            )
            await watch.wait(runs, within=60 + 6 * runs)
        finally:
            watch.close()
        wall = loop.time() - started
        await world.app.wait_idle(world.http)
        slack = world.slack
        bounds = _update_bounds(slack, UPDATE_INTERVAL_S)
        errors = [c for c in slack.calls if c.status != 429 and not c.response.get("ok")]
        closest = max(bounds, key=lambda b: b[0] - b[1])
        return SlackBudget(
            runs=runs,
            by_method=slack.counts_by_method(),
            rate_limited=slack.rate_limited_count,
            errors=len(errors),
            max_updates_per_run=max(b[0] for b in bounds),
            max_update_bound=closest[1],
            within_bound=all(edits <= bound for edits, bound in bounds) and len(bounds) == runs,
            wall_s=wall,
        )
