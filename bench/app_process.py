"""The real app in HTTP mode in a process of its own, so its CPU and memory can be read
apart from the fakes and the load driver. Built by the same composition root as
`python -m bot` (`bot.__main__.build_deps`); the only changes a benchmark may ask for are
turning client-side Slack pacing off, for benchmarks that are about CPU, not Slack, and
the store without writes (`NullStore`), for measuring what the store costs. With a Redis
URL it is one of several replicas, as `python -m bot` with `ORCHESTRA_REDIS_URL` (its keys
under a prefix of the benchmark's own).

Usage: `python -m bench.app_process '<AppOptions JSON>'`; prints the app's base URL on
its first stdout line, serves until SIGTERM. On SIGUSR1 it prints one more line: the run
store's writes and the long GC pauses so far (`bench.app_probe.Probe` as JSON)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass

from bench.app_probe import GcPauses, NullStore, Probe, StoreWrites, thread_names
from bot.__main__ import build_deps
from bot.config import Settings
from bot.coordination import Coordination, RedisLink, redis_coordination, replica_id
from bot.deps import Workspace
from bot.runs.lifecycle import keeping_runs
from bot.serving import heap
from bot.serving.app import create_app
from bot.serving.observability import telemetry_config
from bot.serving.server import http_server, stop_on_signals
from bot.serving.startup import open_store
from bot.slack.pacing import Pacer
from bot.store import RunStore
from bot.telemetry import start_telemetry


@dataclass(frozen=True)
class AppOptions:
    """How to start the app: where the fakes are and the knobs a benchmark turns."""

    slack_api_url: str
    slack_bot_token: str
    signing_secret: str
    anthropic_base_url: str
    anthropic_api_key: str
    max_subtasks: int = 5
    concurrency: int = 5
    update_interval_s: float = 1.0
    pacing: bool = True
    log_level: str = "INFO"
    profile_path: str = ""  # write a pyinstrument text profile of the whole process here
    # The run store. The benchmarks pass a SQLite file in a temporary folder (production's
    # default is a SQLite file too); in memory would hide what the writes cost on disk.
    database_url: str = "sqlite://"
    null_store: bool = False  # skip every write the app makes per run (NullStore)
    # Fair share (ORCHESTRA_MAX_LIVE_RUNS, ORCHESTRA_MAX_RUNS_PER_USER): None keeps what the
    # environment or the app's defaults say; a number raises both, as an operator would.
    runs_cap: int | None = None
    # Several replicas (ORCHESTRA_REDIS_URL, ORCHESTRA_LEASE_S): "" runs one process alone.
    redis_url: str = ""
    redis_prefix: str = "orchestra:"
    lease_s: float = 15.0
    # Telemetry (OTEL_EXPORTER_OTLP_ENDPOINT): "" off; else exported there, spans every
    # `span_export_ms` (OTEL_BSP_SCHEDULE_DELAY, 5 s by default) and metrics every
    # `metric_export_ms` (OTEL_METRIC_EXPORT_INTERVAL, 60 s by default).
    otlp_endpoint: str = ""
    span_export_ms: int = 1000
    metric_export_ms: int = 60_000

    def to_json(self) -> str:
        """The command-line form."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> AppOptions:
        """Parse the command-line form."""
        return cls(**json.loads(text))


def settings_for(options: AppOptions) -> Settings:
    """Settings as `python -m bot` would read them from the environment."""
    settings = Settings(
        _env_file=None,
        slack_bot_token=options.slack_bot_token,
        slack_signing_secret=options.signing_secret,
        slack_api_url=options.slack_api_url,
        anthropic_api_key=options.anthropic_api_key,
        anthropic_base_url=options.anthropic_base_url,
        max_subtasks=options.max_subtasks,
        concurrency=options.concurrency,
        update_interval_s=options.update_interval_s,
        port=0,
        shutdown_timeout_s=1.0,
        log_level=options.log_level,
        database_url=options.database_url,
        redis_url=options.redis_url or None,
        lease_s=options.lease_s,
        otel_exporter_otlp_endpoint=options.otlp_endpoint or None,
    )
    if options.runs_cap is None:
        return settings
    cap = options.runs_cap
    return settings.model_copy(update={"max_live_runs": cap, "max_runs_per_user": cap})


async def serve(options: AppOptions) -> None:
    """Serve until SIGTERM, announcing the URL on stdout."""
    settings = settings_for(options)
    writes, pauses = StoreWrites(), GcPauses()
    writes.install()  # before the store opens: its migrations are counted too (not per run)
    pauses.install()
    store: RunStore = (
        await NullStore.open("sqlite://")
        if options.null_store
        else await open_store(settings.database_url)
    )
    # The driver asks with SIGUSR1; the answer is one line on stdout.
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGUSR1,
        lambda: print(
            Probe(
                writes.counts(),
                tuple(pauses.long),
                thread_names(),
                tuple(stats["collections"] for stats in gc.get_stats()),
                tuple(pauses.seconds),
            ).to_json(),
            flush=True,
        ),
    )
    coordination: Coordination | None = None
    if options.redis_url:
        replica = replica_id()
        link = RedisLink.from_url(options.redis_url, prefix=options.redis_prefix, name=replica)
        coordination = redis_coordination(link, store, replica=replica)
    if options.otlp_endpoint:  # read by the SDK's batch processor and metric reader
        os.environ["OTEL_BSP_SCHEDULE_DELAY"] = str(options.span_export_ms)
        os.environ["OTEL_METRIC_EXPORT_INTERVAL"] = str(options.metric_export_ms)
    telemetry = start_telemetry(telemetry_config(settings))
    deps = build_deps(
        settings,
        store,
        Workspace(),
        coordination,
        pacer=None if options.pacing else Pacer(limits={}),
        telemetry=telemetry,  # as `python -m bot` does: off costs nothing
    )
    app = create_app(deps)
    heap.settle()  # as `python -m bot` does once its dependencies are built
    stop = stop_on_signals()
    try:
        async with (
            http_server(app, deps, "127.0.0.1", 0) as url,
            keeping_runs(deps),
            deps.runs.coordination.cancels.listening(deps.runs.cancel),
        ):
            print(url, flush=True)
            await stop.wait()
    finally:
        if coordination is not None:
            await coordination.close()
        await store.close()
        telemetry.shutdown()


def main() -> int:
    """Entry point of the child process."""
    options = AppOptions.from_json(sys.argv[1])
    logging.basicConfig(
        level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not options.profile_path:
        asyncio.run(serve(options))
        return 0
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled")
    profiler.start()
    try:
        asyncio.run(serve(options))
    finally:
        profiler.stop()
        with open(options.profile_path, "w", encoding="utf-8") as out:
            out.write(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
