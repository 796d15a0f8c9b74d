"""The benchmark world: both fakes in this process, the app in its own (see remote_app),
with its run store in a SQLite file of a temporary folder made for this world alone."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiohttp

from bench.app_process import AppOptions
from bench.driver import SECRET, AnswerWatch, driver_gc_paused, send, signed_command
from bench.plans import Case, independent
from bench.remote_app import AppProcess, app_process
from bench.scripting import ANSWER, script
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import FakeSlack

# A run with no latency, to load lazily imported code and fill caches before measuring:
# a server that has been up for a while is warm, and that is the state worth measuring.
WARM_UP = independent("warm-up", 2, 0.0, plan_latency=0.0, integrator_latency=0.0)

# "disk": the run store in a SQLite file, as in production (`sqlite:///data/orchestra.db`
# by default); "memory": SQLite in memory (what the SQL costs without the file);
# "none": `NullStore`, the app with no store writes at all, for comparison.
StoreMode = Literal["disk", "memory", "none"]


@dataclass
class BenchWorld:
    """Fake Claude, fake Slack, the app process and an HTTP client to drive it."""

    claude: FakeAnthropic
    slack: FakeSlack
    app: AppProcess
    http: aiohttp.ClientSession
    database_url: str = ""  # the app's run store ("sqlite://": in memory, not readable)

    async def run_once(self, case: Case, channel: str, within: float = 60) -> float:
        """Script `case`, send one /research and wait for its answer; returns the wall time
        from sending the signed request to the answer being visible in the thread."""
        script(self.claude, case)
        watch = AnswerWatch(self.slack, ANSWER)
        try:
            request = signed_command(self.slack, f"bench {case.name}", user="U1", channel=channel)
            with driver_gc_paused():
                started = time.perf_counter()
                await send(self.http, self.app.url, request)
                await watch.wait(1, within)
        finally:
            watch.close()
        return next(iter(watch.answered.values())) - started

    async def warm_up(self) -> None:
        """One zero-latency run, then wait until the app is idle."""
        await self.run_once(WARM_UP, "C-warm-up")
        await self.app.wait_idle(self.http)


@contextlib.asynccontextmanager
async def bench_world(
    case: Case,
    *,
    pacing: bool = True,
    strict_rate_limits: bool = False,
    profile_path: str = "",
    store: StoreMode = "disk",
    runs_cap: int | None = None,
    otlp_endpoint: str = "",
) -> AsyncIterator[BenchWorld]:
    """Start the fakes and the app configured for `case` (its subtask count and cap).

    `runs_cap` raises the app's fair-share caps (runs live at once, runs per person) for
    benchmarks that measure what runs cost, not how they queue; None keeps the defaults.
    `otlp_endpoint`: the app exports traces and metrics there ("": telemetry off)."""
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as folder:
        async with (
            FakeAnthropic() as claude,
            FakeSlack(strict_rate_limits=strict_rate_limits) as slack,
        ):
            options = AppOptions(
                slack_api_url=slack.api_url,
                slack_bot_token=slack.bot_token,
                signing_secret=SECRET,
                anthropic_base_url=claude.base_url,
                anthropic_api_key=claude.api_key,
                max_subtasks=max(case.max_subtasks, WARM_UP.max_subtasks),
                concurrency=case.concurrency,
                pacing=pacing,
                profile_path=profile_path,
                database_url=(
                    "sqlite://"
                    if store == "memory"
                    else f"sqlite:///{Path(folder) / 'orchestra.db'}"  # absolute: 4 slashes
                ),
                null_store=store == "none",
                runs_cap=runs_cap,
                otlp_endpoint=otlp_endpoint,
            )
            connector = aiohttp.TCPConnector(limit=0)  # the load driver must not queue requests
            async with (
                app_process(options) as app,
                aiohttp.ClientSession(connector=connector) as http,
            ):
                yield BenchWorld(claude, slack, app, http, options.database_url)
