"""An OTLP/HTTP receiver on loopback: what the app exports, decoded with opentelemetry-proto
(the collector's protobuf encoding, `application/x-protobuf`, POST /v1/traces and /v1/metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.ports import free_port


def value_of(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    events: tuple[str, ...]


def _span(span: Span) -> ReceivedSpan:
    return ReceivedSpan(
        name=span.name,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex(),
        attributes={a.key: value_of(a.value) for a in span.attributes},
        events=tuple(e.name for e in span.events),
    )


@dataclass
class Receiver:
    """Everything received, decoded; `bodies` keeps the raw requests (to search for text)."""

    url: str
    spans: list[ReceivedSpan] = field(default_factory=list)
    metrics: dict[str, list[Any]] = field(default_factory=dict)  # name -> data points
    bodies: list[bytes] = field(default_factory=list)

    def named(self, prefix: str) -> list[ReceivedSpan]:
        """Spans whose name starts with `prefix`."""
        return [s for s in self.spans if s.name.startswith(prefix)]

    def roots(self) -> list[ReceivedSpan]:
        """The runs' root spans."""
        return [s for s in self.spans if s.name == "invoke_agent orchestra"]

    def total(self, metric: str, **labels: str) -> float:
        """The sum of a counter's points whose attributes include `labels` (one export)."""
        return sum(
            float(point.as_int or point.as_double)
            for point in self.metrics.get(metric, [])
            if labels.items() <= {a.key: value_of(a.value) for a in point.attributes}.items()
        )

    def traces(self) -> dict[str, list[ReceivedSpan]]:
        by: dict[str, list[ReceivedSpan]] = {}
        for span in self.spans:
            by.setdefault(span.trace_id, []).append(span)
        return by


@asynccontextmanager
async def otlp_receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}")

    async def traces(request: web.Request) -> web.Response:
        body = await request.read()
        receiver.bodies.append(body)
        decoded = ExportTraceServiceRequest.FromString(body)
        for resource in decoded.resource_spans:
            for scope in resource.scope_spans:
                receiver.spans.extend(_span(s) for s in scope.spans)
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    async def metrics(request: web.Request) -> web.Response:
        body = await request.read()
        receiver.bodies.append(body)
        decoded = ExportMetricsServiceRequest.FromString(body)
        for resource in decoded.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    points = list(getattr(metric, kind).data_points) if kind else []
                    receiver.metrics.setdefault(metric.name, []).extend(points)
        return web.Response(
            body=ExportMetricsServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/traces", traces)
    app.router.add_post("/v1/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()
