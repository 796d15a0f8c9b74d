"""Exports that fail quietly: a collector that is down or hangs is told in the log once per
outage, not once per failed export, and never with a traceback.

The OTLP exporters log each attempt that fails (several warnings and an error per batch,
every few seconds while a collector is down) and the SDK's processors log an exception with
its traceback when an exporter raises. Those records are kept out of the log unless it is at
DEBUG (`ORCHESTRA_LOG_LEVEL=DEBUG` shows each failure and its reason); instead each signal's
exporter is wrapped, never raises, and says when its exports begin to fail and when they work
again. Spans wait in the batch processor's queue meanwhile (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048
by default) and the oldest are dropped past it; metrics are cumulative, so the next export
that works carries their totals."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger = logging.getLogger(__name__)

# The SDK's loggers that speak of each export (opentelemetry-python 1.45): the OTLP/HTTP
# exporters and their HTTP client, the batch span processor, the periodic metric reader.
EXPORT_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.http.transport",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.metrics._internal.export",
)


class OnlyWhenDebugging(logging.Filter):
    """Lets a record through only while the log shows DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether the root logger is at DEBUG (the app's level is set there)."""
        return logging.getLogger().isEnabledFor(logging.DEBUG)


QUIET = OnlyWhenDebugging()


def quiet_export_logs() -> None:
    """Keep the SDK's per-export records out of the log (idempotent: one filter instance)."""
    for name in EXPORT_LOGGERS:
        logging.getLogger(name).addFilter(QUIET)


def where(url: str) -> str:
    """A collector's address for the log: scheme, host and port (never a path or query)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


class Outage:
    """Whether one signal's exports fail now; the log hears when that changes."""

    def __init__(self, signal: str, endpoint: str) -> None:
        self._signal = signal
        self._endpoint = where(endpoint)
        self._down = False
        self._lock = threading.Lock()  # the processor's thread and a flush may both export

    def failed(self) -> None:
        """An export failed: said once until one works again."""
        with self._lock:
            if self._down:
                return
            self._down = True
        logger.warning(
            "telemetry: could not export %s to %s; dropping them until it answers "
            "(ORCHESTRA_LOG_LEVEL=DEBUG shows each failure)",
            self._signal,
            self._endpoint,
        )

    def worked(self) -> None:
        """An export worked: said once if exports had been failing."""
        with self._lock:
            if not self._down:
                return
            self._down = False
        logger.info("telemetry: exporting %s to %s again", self._signal, self._endpoint)


class ReportedSpans(SpanExporter):
    """A span exporter whose failures are told by `Outage`, and which never raises."""

    def __init__(self, inner: SpanExporter, endpoint: str) -> None:
        self._inner = inner
        self._outage = Outage("spans", endpoint)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """The inner export; a raise counts as a failure."""
        try:
            result = self._inner.export(spans)
        except Exception:  # any exporter fault is the same outage to us
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self._outage.worked()
        else:
            self._outage.failed()
        return result

    def shutdown(self) -> None:
        """The inner exporter's."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """The inner exporter's."""
        return self._inner.force_flush(timeout_millis)


class ReportedMetrics(MetricExporter):
    """A metric exporter whose failures are told by `Outage`, and which never raises."""

    def __init__(self, inner: MetricExporter, endpoint: str) -> None:
        # The reader asks the exporter for its temporality and aggregation: the inner's.
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._outage = Outage("metrics", endpoint)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        """The inner export; a raise counts as a failure."""
        try:
            result = self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception:  # any exporter fault is the same outage to us
            result = MetricExportResult.FAILURE
        if result is MetricExportResult.SUCCESS:
            self._outage.worked()
        else:
            self._outage.failed()
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """The inner exporter's."""
        return self._inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        """The inner exporter's."""
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)
