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
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from opentelemetry.metrics import Meter, NoOpMeter
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    ExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NoOpTracer, Tracer
from prometheus_client import CollectorRegistry

from bot.telemetry.export import ReportedMetrics, ReportedSpans, quiet_export_logs
from bot.telemetry.ids import RunTraceIds
from bot.telemetry.meters import Meters, make_meters

logger = logging.getLogger(__name__)

SCOPE = "orchestra"
# How long a SIGTERM's flush may take before the process exits without it.
FLUSH_TIMEOUT_S = 5.0


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

    def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        """Export what is pending now, waiting at most `timeout_s`."""
        tracers, meters = self._tracers, self._meters
        millis = int(timeout_s * 1000)
        works: dict[str, Callable[[], object]] = {}
        if tracers is not None:
            works["spans"] = lambda: tracers.force_flush(millis)
        if meters is not None:
            works["metrics"] = lambda: meters.force_flush(millis)
        _within(timeout_s, "flushing", works)

    def shutdown(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        """Flush pending spans and metrics, then stop exporting (a SIGTERM's last step),
        waiting at most `timeout_s`: a collector that hangs must not hold the exit."""
        tracers, meters = self._tracers, self._meters
        self._tracers = self._meters = None
        millis = int(timeout_s * 1000)
        works: dict[str, Callable[[], object]] = {}
        if tracers is not None:

            def stop_tracing() -> None:
                tracers.force_flush(millis)
                tracers.shutdown()

            works["spans"] = stop_tracing
        if meters is not None:
            works["metrics"] = lambda: meters.shutdown(timeout_millis=millis)
        _within(timeout_s, "shutting down", works)


def _within(timeout_s: float, doing: str, works: Mapping[str, Callable[[], object]]) -> None:
    """Each signal's `works` at once, each on a daemon thread, all waited for at most
    `timeout_s`; one still going then is left to die with the process. The SDK does not keep
    to its own timeouts here (opentelemetry-python issue 4568: a span flush waits for every
    export, each up to `OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s by default, retries included)."""
    failed: list[str] = []

    def run(signal: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as error:  # the SDK raises when its deadline passed: one line, no trace
            failed.append(f"{signal} ({type(error).__name__})")

    workers = [
        threading.Thread(target=run, args=(signal, work), name=f"telemetry {doing}", daemon=True)
        for signal, work in works.items()
    ]
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    late = [signal for signal, w in zip(works, workers, strict=True) if w.is_alive()]
    if late or failed:
        logger.warning(
            "telemetry: gave up %s %s after %g s (the collector did not answer); "
            "what was pending is dropped",
            doing,
            " and ".join(late + failed),
            timeout_s,
        )


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


def _log_endpoint(config: TelemetryConfig, signal: str) -> str:
    """Where one signal goes, as the log may name it (see `_signal_endpoint`)."""
    own = config.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    return own or (config.endpoint or "").rstrip("/") + f"/v1/{signal}"


# Exemplars (a measurement's trace and span ids, kept beside the metric) are off unless
# `OTEL_METRICS_EXEMPLAR_FILTER` asks for them: the SDK's default (`trace_based`) offers every
# measurement made inside a span to a reservoir, which made each counter add three times
# dearer (bench 11, 2026-12-05), and runs' traces are found by their run id without them.
EXEMPLAR_FILTERS: Mapping[str, Callable[[], ExemplarFilter]] = {
    "always_off": AlwaysOffExemplarFilter,
    "always_on": AlwaysOnExemplarFilter,
    "trace_based": TraceBasedExemplarFilter,
}


def exemplar_filter(environ: Mapping[str, str]) -> ExemplarFilter:
    """The filter `OTEL_METRICS_EXEMPLAR_FILTER` names; none kept when it is unset or unknown."""
    name = environ.get("OTEL_METRICS_EXEMPLAR_FILTER", "always_off").strip().lower()
    make = EXEMPLAR_FILTERS.get(name)
    if make is None:
        logger.warning(
            "telemetry: OTEL_METRICS_EXEMPLAR_FILTER=%r is not one of %s; exemplars stay off",
            name,
            ", ".join(EXEMPLAR_FILTERS),
        )
        return AlwaysOffExemplarFilter()
    return make()


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

        from bot.telemetry.wire import WireSpanExporter

        # Never shut down at exit by the SDK itself: unbounded, it would wait on a hanging
        # collector; `Telemetry.shutdown` is the one, bounded, flush.
        tracers = TracerProvider(resource=resource, id_generator=ids, shutdown_on_exit=False)
        spans_at = _log_endpoint(config, "traces")
        exporter = WireSpanExporter(endpoint=_signal_endpoint(config, "traces"))
        tracers.add_span_processor(BatchSpanProcessor(ReportedSpans(exporter, spans_at)))
        tracer = tracers.get_tracer(SCOPE)
        metrics_at = _log_endpoint(config, "metrics")
        metric_exporter = OTLPMetricExporter(endpoint=_signal_endpoint(config, "metrics"))
        readers.append(PeriodicExportingMetricReader(ReportedMetrics(metric_exporter, metrics_at)))
        quiet_export_logs()
    scrape: CollectorRegistry | None = None
    if config.prometheus:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        scrape = CollectorRegistry(auto_describe=True)
        readers.append(PrometheusMetricReader(registry=scrape))
    meters = MeterProvider(
        metric_readers=readers,
        resource=resource,
        shutdown_on_exit=False,
        exemplar_filter=exemplar_filter(config.environ),
    )
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
