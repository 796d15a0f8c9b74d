"""An in-memory `Telemetry`: spans and metrics kept in the process, nothing exported."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.telemetry import Telemetry
from bot.telemetry.ids import RunTraceIds
from bot.telemetry.meters import make_meters


@dataclass
class Recorded:
    telemetry: Telemetry
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.spans.get_finished_spans()

    def points(self, name: str) -> list[tuple[dict[str, object], float]]:
        """Each data point of metric `name`: its attributes and value (sum or count)."""
        data = self.metrics.get_metrics_data()
        found: list[tuple[dict[str, object], float]] = []
        for resource in data.resource_metrics if data is not None else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        if value is None:
                            value = point.count  # type: ignore[union-attr]  # a histogram
                        found.append((dict(point.attributes or {}), float(value)))
        return found

    def total(self, name: str) -> float:
        return sum(value for _, value in self.points(name))


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """Traces and metrics on, kept in memory; content capture off (a test may turn it on)."""
    ids = RunTraceIds()
    spans = InMemorySpanExporter()
    tracers = TracerProvider(id_generator=ids)
    tracers.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    telemetry = Telemetry(
        tracer=tracers.get_tracer("test"),
        meters=make_meters(meters.get_meter("test")),
        ids=ids,
        traced=True,
        measured=True,
    )
    yield Recorded(telemetry, spans, reader)
    tracers.shutdown()
    meters.shutdown()
