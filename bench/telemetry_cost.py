"""Benchmark 11: what telemetry costs a run (issue 25). CPU seconds per run of the app
process with traces and metrics exported over OTLP/HTTP to a receiver on loopback, against
the same with telemetry off, measured in one `make bench` run (absolute CPU times move
between days on a shared machine; their ratio is the target).

Spans are exported every second instead of the SDK's 5 s, so that the export work a burst of
runs causes (each of its spans encoded and sent) falls inside the burst's measured window,
which ends 1.5 s after it (`bench.cost.SETTLE_S`), and not after it. Metrics keep the SDK's
60 s: their export is a timer's, not a run's (cumulative totals of every series, sent
whether runs happened or not), so a run causes none of it. Until 2026-12-05 metrics were
exported every second here too, which charged each burst of 20 runs two such exports; the
row then read 1.11-1.13x. The receiver decodes what it gets (opentelemetry-proto), so the
row also says how many spans each run exported."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from bench.cost import Setup, paired_cpu


@dataclass
class Received:
    """What the receiver got: requests, bytes and spans."""

    requests: int = 0
    bytes: int = 0
    spans: int = 0
    span_names: set[str] = field(default_factory=set)


@contextlib.asynccontextmanager
async def otlp_receiver() -> AsyncIterator[tuple[str, Received]]:
    """An OTLP/HTTP receiver on a free loopback port: its base URL and what it received."""
    received = Received()

    async def traces(request: web.Request) -> web.Response:
        body = await request.read()
        received.requests += 1
        received.bytes += len(body)
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans:
            for scope in resource.scope_spans:
                received.spans += len(scope.spans)
                received.span_names.update(s.name.split(" ")[0] for s in scope.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    async def metrics(request: web.Request) -> web.Response:
        body = await request.read()
        received.requests += 1
        received.bytes += len(body)
        answer = ExportMetricsServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/traces", traces)
    app.router.add_post("/v1/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        await runner.cleanup()


@dataclass(frozen=True)
class TelemetryCpu:
    """CPU seconds per run, telemetry off and exporting, and what was exported."""

    runs: int
    off_s: float
    on_s: float
    spans_per_run: float
    bytes_per_run: float
    kinds: tuple[str, ...]  # the kinds of span received (chat, invoke_agent, slack)
    off_threads_s: dict[str, float]  # off_s by thread kind (`bench.cost.thread_kind`)
    on_threads_s: dict[str, float]

    def added_s(self, kind: str) -> float:
        """CPU per run exporting added in one kind of thread (the SDK's own: all of it)."""
        return self.on_threads_s.get(kind, 0.0) - self.off_threads_s.get(kind, 0.0)

    @property
    def ratio(self) -> float:
        """CPU per run exporting / off."""
        return self.on_s / self.off_s


async def telemetry_cpu(runs: int, batch: int) -> TelemetryCpu:
    """`runs` zero-latency runs with telemetry off and as many exporting (store on disk),
    the two app processes measured in turns (`bench.cost.paired_cpu`)."""
    async with otlp_receiver() as (url, received):
        off, on = await paired_cpu(runs, batch, Setup("disk"), Setup("disk", url))
        # The warm-up runs exported too: spans per measured run is an estimate, close enough
        # to say that each run exported its trace.
        measured = runs + batch + 1
        return TelemetryCpu(
            runs,
            off.app_s,
            on.app_s,
            received.spans / measured,
            received.bytes / measured,
            tuple(sorted(received.span_names)),
            off.threads_s,
            on.threads_s,
        )
