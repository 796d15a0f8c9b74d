"""Benchmark 9: several replicas on this machine. The app as one and as three processes (one
PostgreSQL run store, one Redis): ack latency and runs completed per minute under one burst
of requests spread over the replicas; then the takeover time after SIGKILL of a replica
with runs under way (`ORCHESTRA_LEASE_S` as given).

Each world gets a PostgreSQL database and a Redis key prefix of its own, removed after it.
Without a PostgreSQL or Redis server on 127.0.0.1 the section says so instead of numbers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench.app_process import AppOptions
from bench.driver import SECRET, AnswerWatch, driver_gc_paused, send, signed_command
from bench.plans import independent
from bench.remote_app import AppProcess, app_process
from bench.report import Report, Table, Verdict
from bench.scripting import ANSWER, script
from bench.stats import percentile
from bot.render.notes import TAKEN_OVER
from bot.store import RunStore
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack

PG_SERVER = "postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
TAKEN = f"Resumed after {TAKEN_OVER}"
TITLE = "9. Several replicas on this machine (PostgreSQL store, Redis)"


class Unavailable(RuntimeError):
    """PostgreSQL or Redis is not there: nothing to measure."""


@dataclass(frozen=True)
class Throughput:
    """One burst of runs over `replicas` processes."""

    replicas: int
    runs: int
    ack_p50: float
    ack_p99: float
    wall_s: float  # first request sent → last answer visible

    @property
    def per_minute(self) -> float:
        return self.runs / self.wall_s * 60


@dataclass(frozen=True)
class Takeover:
    """A replica killed with `runs` under way; seconds from the kill until each run's thread
    said it was resumed elsewhere, and until its answer was visible."""

    runs: int
    lease_s: float
    resumed_s: tuple[float, ...]
    answered_s: tuple[float, ...]


async def _admin(statement: str) -> None:
    engine = create_async_engine(
        f"postgresql+asyncpg://{PG_SERVER}/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"timeout": 5},
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))  # our own generated name, never input
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _services() -> AsyncIterator[tuple[str, str]]:
    """A fresh PostgreSQL database and Redis key prefix: (database URL, prefix)."""
    name = f"orchestra_bench_{uuid.uuid4().hex[:12]}"
    prefix = f"orchestra-bench:{uuid.uuid4().hex[:12]}:"
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
        await _admin(f'CREATE DATABASE "{name}"')
    except (RedisError, SQLAlchemyError, OSError) as exc:
        await redis.aclose()
        raise Unavailable(f"{type(exc).__name__}: needs PostgreSQL and Redis") from exc
    try:
        yield f"postgresql://{PG_SERVER}/{name}", prefix
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*", count=500):
            await redis.delete(key)
        await redis.aclose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class _World:
    claude: FakeAnthropic
    slack: FakeSlack
    apps: list[AppProcess]
    http: aiohttp.ClientSession
    database_url: str


@contextlib.asynccontextmanager
async def _replicas(count: int, *, lease_s: float, runs_cap: int) -> AsyncIterator[_World]:
    """`count` app processes sharing one database and one Redis prefix, both fakes."""
    async with (
        _services() as (database_url, prefix),
        FakeAnthropic() as claude,
        FakeSlack() as slack,
        contextlib.AsyncExitStack() as stack,
    ):
        options = AppOptions(
            slack_api_url=slack.api_url,
            slack_bot_token=slack.bot_token,
            signing_secret=SECRET,
            anthropic_base_url=claude.base_url,
            anthropic_api_key=claude.api_key,
            pacing=False,  # about the app's capacity, not Slack's (see the table's notes)
            database_url=database_url,
            runs_cap=runs_cap,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            lease_s=lease_s,
        )
        await (await RunStore.open(database_url)).close()  # the schema, before the replicas
        apps = list(
            await asyncio.gather(
                *(stack.enter_async_context(app_process(options)) for _ in range(count))
            )
        )
        connector = aiohttp.TCPConnector(limit=0)
        http = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        yield _World(claude, slack, apps, http, database_url)


async def throughput(replicas: int, runs: int, latency: float, bursts: int) -> Throughput:
    """`runs` people ask at once, round robin over the replicas, `bursts` times (all idle
    again before each); every ack timed, and each burst until its last answer."""
    case = independent("replicas", 3, latency, plan_latency=latency, integrator_latency=latency)
    async with _replicas(replicas, lease_s=15.0, runs_cap=runs + 1) as world:
        script(world.claude, case)
        warm = AnswerWatch(world.slack, ANSWER)
        try:  # one run per replica first: warm caches, as a server that has been up is
            for n, app in enumerate(world.apps):
                warm_up = signed_command(world.slack, "warm up", user="UW", channel=f"CW{n}")
                await send(world.http, app.url, warm_up)
            await warm.wait(len(world.apps), within=60)
        finally:
            warm.close()
        acks: list[float] = []
        wall = 0.0
        for burst in range(bursts):
            for app in world.apps:
                await app.wait_idle(world.http, within=180)
            requests = [
                (
                    world.apps[i % replicas],
                    signed_command(world.slack, "q", user=f"U{i}", channel=f"C{burst}-{i}"),
                )
                for i in range(runs)
            ]
            watch = AnswerWatch(world.slack, ANSWER)
            try:
                with driver_gc_paused():
                    started = time.perf_counter()
                    acks += await asyncio.gather(*(send(world.http, a.url, r) for a, r in requests))
                await watch.wait(runs, within=120 + runs)
            finally:
                watch.close()
            wall += max(watch.answered.values()) - started
    return Throughput(replicas, runs * bursts, percentile(acks, 50), percentile(acks, 99), wall)


def _aspect(call: CallInfo) -> int:
    return next((n for n in (1, 2, 3) if f"aspect {n}" in call.system_text), 0)


async def takeover(runs: int, lease_s: float) -> Takeover:
    """`runs` runs on one of three replicas, two of three subtasks done, the third under way:
    SIGKILL that replica and time how soon the others resume and answer each run."""
    slow = {"on": True}
    async with _replicas(3, lease_s=lease_s, runs_cap=runs + 1) as world:
        world.claude.respond(
            "subagent",
            lambda call: Reply(
                text=f"Result {_aspect(call)}.",
                latency=600 if slow["on"] and _aspect(call) == 3 else 0,
            ),
        )
        victim = world.apps[0]
        for i in range(runs):
            request = signed_command(world.slack, "long", user=f"U{i}", channel=f"K{i}")
            await send(world.http, victim.url, request)
        store = await RunStore.open(world.database_url)
        try:
            async with asyncio.timeout(60):
                while True:
                    found = await store.unfinished_runs()
                    done = [sum(s.state == "done" for s in r.subtasks) for r in found]
                    if len(found) == runs and all(d == 2 for d in done):
                        break
                    await asyncio.sleep(0.05)
        finally:
            await store.close()
        channels = [f"K{i}" for i in range(runs)]
        threads = {c: world.slack.channel_messages(c)[0].ts for c in channels}
        # SIGKILL: the process gets no chance to pause its runs or give up their leases.
        os.kill(victim.pid, signal.SIGKILL)
        killed = time.monotonic()
        slow["on"] = False
        resumed: dict[str, float] = {}
        answered: dict[str, float] = {}
        async with asyncio.timeout(lease_s * 3 + 60):
            while len(answered) < runs:
                for channel, ts in threads.items():
                    text = "\n".join(m.visible_text() for m in world.slack.thread(channel, ts))
                    if TAKEN in text:
                        resumed.setdefault(channel, time.monotonic() - killed)
                    if "subtasks done" in text:
                        answered.setdefault(channel, time.monotonic() - killed)
                await asyncio.sleep(0.02)  # polling: the state is the fake Slack's threads
    return Takeover(runs, lease_s, tuple(resumed.values()), tuple(answered.values()))


async def section(
    report: Report,
    *,
    runs: int,
    bursts: int,
    latency: float,
    takeover_runs: int,
    lease_s: float,
) -> None:
    """Measure, then add the verdicts and tables to `report`."""
    try:
        one = await throughput(1, runs, latency, bursts)
        three = await throughput(3, runs, latency, bursts)
        taken = await takeover(takeover_runs, lease_s)
    except Unavailable as missing:
        for name in ("ack p99", "runs per minute", "takeover after SIGKILL"):
            report.verdicts.append(
                Verdict(f"9. replicas: {name}", "-", f"skipped ({missing})", None)
            )
        report.tables.append(Table(TITLE, ("skipped",), [(str(missing),)]))
        return
    report.values.update(
        {
            "replicas.ack_p99_1": one.ack_p99,
            "replicas.ack_p99_3": three.ack_p99,
            "replicas.ack_p99_ratio": three.ack_p99 / one.ack_p99,
            "replicas.per_minute_1": one.per_minute,
            "replicas.per_minute_3": three.per_minute,
            "replicas.takeover_max": max(taken.resumed_s),
            "replicas.takeover_answered_max": max(taken.answered_s),
        }
    )
    bound = lease_s * 1.5 + 2
    report.verdicts += [
        Verdict(
            f"9. ack p99, {runs} at once x {bursts} bursts over 3 replicas (1 replica)",
            "< 100 ms",
            f"{three.ack_p99 * 1000:.1f} ms ({one.ack_p99 * 1000:.1f} ms)",
            three.ack_p99 < 0.1,
        ),
        # Absolute times move between days on shared machines; the ratio, measured in one
        # run, is the target of issue 21.5.
        Verdict(
            "9. ack p99, 3 replicas / 1 process (same run)",
            "≤ 1.5x",
            f"{three.ack_p99 / one.ack_p99:.2f}x",
            three.ack_p99 / one.ack_p99 <= 1.5,
        ),
        Verdict(
            f"9. runs completed per minute, 3 replicas (1 replica), {runs} at once",
            "(no target)",
            f"{three.per_minute:.0f} ({one.per_minute:.0f})",
            None,
        ),
        Verdict(
            f"9. takeover after SIGKILL (lease {lease_s:g} s, {taken.runs} runs)",
            f"≤ {bound:g} s (lease x 1.5 + 2)",
            f"{max(taken.resumed_s):.1f} s resumed, {max(taken.answered_s):.1f} s answered",
            max(taken.resumed_s) <= bound,
        ),
    ]
    report.tables.append(
        Table(
            TITLE,
            ("replicas", "runs", "ack p50 ms", "ack p99 ms", "bursts' walls s", "runs/min"),
            [
                (
                    str(t.replicas),
                    str(t.runs),
                    f"{t.ack_p50 * 1000:.1f}",
                    f"{t.ack_p99 * 1000:.1f}",
                    f"{t.wall_s:.2f}",
                    f"{t.per_minute:.0f}",
                )
                for t in (one, three)
            ],
            (
                f"{bursts} bursts of {runs} requests at once, the app idle before each; each "
                f"run: plan, 3 subtasks, integrator, {latency:g} s of scripted latency each; a "
                "burst's requests go round robin to the replicas (a load balancer), every run "
                "in its own channel; fair-share caps raised so none queues. Runs per minute: "
                "all runs over the sum of the bursts' walls (first request sent to last answer "
                "visible). Acks: client-side, p50 and p99 over every request of every burst.",
                "Slack pacing off: with it on, a workspace's plan and answer edits share "
                "Slack's ~50 a minute (chat.update, Tier 3) whatever the number of replicas, "
                "so edits, not replicas, would bound the rate.",
                f"All processes share this machine's {_cores()} cores with both fakes, the "
                "load driver, PostgreSQL and Redis: three replicas add coordination (Redis "
                "leases, fenced writes) more than they add CPU here.",
                f"Takeover: {taken.runs} runs with 2 of 3 subtasks done on one of three "
                f"replicas, SIGKILL; seconds until each thread said '{TAKEN}' (another "
                "replica took it over: lease expiry, then its sweep every lease/2), and until "
                f"its answer: {_spread(taken.resumed_s)} / {_spread(taken.answered_s)}.",
            ),
        )
    )


def _spread(samples: tuple[float, ...]) -> str:
    ordered = sorted(samples)
    return f"min {ordered[0]:.1f}, max {ordered[-1]:.1f} s"


def _cores() -> int:
    return os.cpu_count() or 1
