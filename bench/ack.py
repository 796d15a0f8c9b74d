"""Benchmark 3: how fast the app acks a burst of concurrent `/research` requests.

Slack gives an app 3 s; a busy single process must stay far below. The burst's runs start
at once (one channel each, so Slack pacing does not hold their first posts back), so the
acks compete with the work they start, as they would in production."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench.driver import send, signed_command
from bench.plans import independent
from bench.scripting import script
from bench.stats import percentile
from bench.world import bench_world


@dataclass(frozen=True)
class AckStats:
    """Ack latencies of one burst, seconds."""

    requests: int
    p50: float
    p99: float
    max: float


async def measure(requests: int, latency: float) -> AckStats:
    """Send `requests` signed slash commands at once; time each response."""
    case = independent("ack", 3, latency, plan_latency=latency, integrator_latency=latency)
    async with bench_world(case) as world:
        await world.warm_up()
        script(world.claude, case)
        signed = [
            signed_command(world.slack, f"question {i}", user=f"U{i}", channel=f"C-ack-{i}")
            for i in range(requests)
        ]
        times = await asyncio.gather(*(send(world.http, world.app.url, s) for s in signed))
    return AckStats(requests, percentile(times, 50), percentile(times, 99), max(times))
