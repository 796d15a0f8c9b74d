"""Benchmark 3: how fast the app acks a burst of concurrent `/research` requests.

Slack gives an app 3 s; a busy single process must stay far below. The burst's runs start
at once (one channel each, so Slack pacing does not hold their first posts back), so the
acks compete with the work they start, as they would in production. The fair-share caps
are raised so every request starts its run at once (the hardest case for the acks: with
the defaults most would queue), and the run store is a SQLite file, as in production; the
same bursts against `NullStore` show what the store adds.

One burst says little: the acks of a burst leave together (each waits for the event loop,
which serves the whole burst in turn), so a garbage collection or another process taking
the CPU moves the whole burst. Several bursts are sent, the app idle before each, and the
app's long GC pauses during the acks are reported with them, and how long its event loop
was on a CPU and runnable but waiting for one. This process does no garbage collection
while a burst's acks are awaited (`driver_gc_paused`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.app_probe import GcPause
from bench.driver import AnswerWatch, driver_gc_paused, send, signed_command
from bench.plans import independent
from bench.scripting import ANSWER, script
from bench.stats import percentile
from bench.world import StoreMode, bench_world


@dataclass(frozen=True)
class AckStats:
    """Ack latencies of `bursts` bursts of `requests` each, seconds (over every request)."""

    requests: int
    bursts: int
    p50: float
    p99: float
    max: float
    burst_p99s: tuple[float, ...]  # each burst's own p99, in order
    gc_pauses: tuple[GcPause, ...]  # the app's long GC pauses while acks were awaited
    # Per burst, from the first send to the last ack: the app's event loop on a CPU, and
    # runnable but waiting for one (another process had the cores), seconds.
    burst_on_cpu: tuple[float, ...]
    burst_waiting: tuple[float, ...]


async def measure(
    requests: int, latency: float, store: StoreMode = "disk", bursts: int = 1
) -> AckStats:
    """Send `requests` signed slash commands at once, `bursts` times (the app idle again
    before each); time each response."""
    case = independent("ack", 3, latency, plan_latency=latency, integrator_latency=latency)
    # Pacing off: it only ever waits, and only after the acks, but 100 runs' plan edits share
    # Slack's workspace-wide edit limit (about 50 a minute), so with it on the app would not
    # be idle again for minutes between bursts.
    async with bench_world(case, pacing=False, store=store, runs_cap=requests + 1) as world:
        await world.warm_up()
        script(world.claude, case)
        times: list[float] = []
        burst_p99s: list[float] = []
        windows: list[tuple[float, float]] = []  # monotonic: from the first send to the last ack
        on_cpu: list[float] = []
        waiting: list[float] = []
        for burst in range(bursts):
            signed = [
                signed_command(
                    world.slack, f"question {i}", user=f"U{i}", channel=f"C-ack-{burst}-{i}"
                )
                for i in range(requests)
            ]
            watch = AnswerWatch(world.slack, ANSWER)
            try:
                with driver_gc_paused():
                    cpu_before, wait_before = world.app.scheduled_seconds()
                    started = time.monotonic()
                    burst_times = await asyncio.gather(
                        *(send(world.http, world.app.url, s) for s in signed)
                    )
                    windows.append((started, time.monotonic()))
                    cpu_after, wait_after = world.app.scheduled_seconds()
                on_cpu.append(cpu_after - cpu_before)
                waiting.append(wait_after - wait_before)
                # Runs register after their first store writes: wait for every answer
                # before asking whether the app is idle.
                await watch.wait(requests, within=60 + 10 * latency)
            finally:
                watch.close()
            await world.app.wait_idle(world.http)
            burst_p99s.append(percentile(burst_times, 99))
            times += burst_times
        probe = await world.app.probe()
    return AckStats(
        requests,
        bursts,
        percentile(times, 50),
        percentile(times, 99),
        max(times),
        tuple(burst_p99s),
        tuple(probe.pauses_within(windows)),
        tuple(on_cpu),
        tuple(waiting),
    )
