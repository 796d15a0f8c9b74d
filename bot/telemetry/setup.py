"""Tracer and meter providers from the standard OpenTelemetry variables, or none at all.

Only `OTEL_EXPORTER_OTLP_ENDPOINT` turns exporting on: without it no provider is made, the
instruments are the API's no-ops, Claude and Slack calls are not wrapped, and the cost is nil.
The SDK reads the other `OTEL_*` knobs itself (headers, timeouts, batch sizes, resource
attributes, per-signal endpoints). Nothing is registered globally: the providers are handed to
whoever needs them (the app's composition root builds one `Telemetry`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from opentelemetry.metrics import Meter, NoOpMeter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NoOpTracer, Tracer
from prometheus_client import CollectorRegistry

from bot.telemetry.ids import RunTraceIds
from bot.telemetry.meters import Meters, make_meters

logger = logging.getLogger(__name__)

SCOPE = "orchestra"


@dataclass(frozen=True)
class TelemetryConfig:
    """What to export, as the settings say (bot.config)."""

    endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT; None: no OTLP export
    service_name: str = "orchestra"
    capture_content: bool = False  # OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
    prometheus: bool = False  # serve /metrics
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class Telemetry:
    """The app's tracer, instruments and trace ids; `shutdown` flushes what is pending."""

    tracer: Tracer
    meters: Meters
    ids: RunTraceIds
    traced: bool = False  # spans are exported
    measured: bool = False  # metrics are exported (OTLP or /metrics)
    capture_content: bool = False
    scrape: CollectorRegistry | None = None  # /metrics reads it
    _tracers: TracerProvider | None = None
    _meters: MeterProvider | None = None

    @property
    def on(self) -> bool:
        """Whether anything is recorded at all (else calls need no wrapping)."""
        return self.traced or self.measured

    def flush(self, timeout_s: float = 5.0) -> None:
        """Export what is pending now."""
        millis = int(timeout_s * 1000)
        if self._tracers is not None:
            self._tracers.force_flush(millis)
        if self._meters is not None:
            self._meters.force_flush(millis)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush pending spans and metrics, then stop exporting (a SIGTERM's last step)."""
        if self._tracers is not None:
            self._tracers.force_flush(int(timeout_s * 1000))
            self._tracers.shutdown()
            self._tracers = None
        if self._meters is not None:
            self._meters.shutdown(timeout_millis=timeout_s * 1000)
            self._meters = None


def telemetry_off() -> Telemetry:
    """No providers: the API's no-op tracer and instruments."""
    return Telemetry(tracer=NoOpTracer(), meters=make_meters(NoOpMeter(SCOPE)), ids=RunTraceIds())


def _signal_endpoint(config: TelemetryConfig, signal: str) -> str | None:
    """The URL for one signal: its own variable wins (the SDK reads it when we pass None),
    else the base endpoint plus `/v1/<signal>`, as the OTLP/HTTP specification builds it."""
    if config.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"):
        return None
    assert config.endpoint is not None  # noqa: S101  # only called with one
    return config.endpoint.rstrip("/") + f"/v1/{signal}"


def start_telemetry(config: TelemetryConfig) -> Telemetry:
    """Providers for what `config` asks; `telemetry_off()` when it asks for nothing."""
    if not config.endpoint and not config.prometheus:
        return telemetry_off()
    resource = Resource.create({"service.name": config.service_name})
    ids = RunTraceIds()
    tracers: TracerProvider | None = None
    tracer: Tracer = NoOpTracer()
    readers: list[MetricReader] = []
    if config.endpoint:
        # The OTLP exporters load requests and protobuf: only imported when exporting.
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracers = TracerProvider(resource=resource, id_generator=ids)
        exporter = OTLPSpanExporter(endpoint=_signal_endpoint(config, "traces"))
        tracers.add_span_processor(BatchSpanProcessor(exporter))
        tracer = tracers.get_tracer(SCOPE)
        metric_exporter = OTLPMetricExporter(endpoint=_signal_endpoint(config, "metrics"))
        readers.append(PeriodicExportingMetricReader(metric_exporter))
    scrape: CollectorRegistry | None = None
    if config.prometheus:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        scrape = CollectorRegistry(auto_describe=True)
        readers.append(PrometheusMetricReader(registry=scrape))
    meters = MeterProvider(metric_readers=readers, resource=resource)
    meter: Meter = meters.get_meter(SCOPE)
    logger.info(
        "telemetry: traces %s, metrics %s%s",
        "exported over OTLP" if tracers is not None else "off",
        "exported over OTLP" if config.endpoint else "not pushed",
        ", /metrics served" if scrape is not None else "",
    )
    return Telemetry(
        tracer=tracer,
        meters=make_meters(meter),
        ids=ids,
        traced=tracers is not None,
        measured=True,
        capture_content=config.capture_content,
        scrape=scrape,
        _tracers=tracers,
        _meters=meters,
    )
