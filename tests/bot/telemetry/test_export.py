"""Exports that fail quietly (bot.telemetry.export) and a shutdown that keeps to its bound
(bot.telemetry.setup): an outage is told once and its end once, an exporter that raises is a
failure, the SDK's per-export records stay out of the log unless it is at DEBUG, and a flush
stuck in an export is given up."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from bot.telemetry.export import EXPORT_LOGGERS, ReportedMetrics, ReportedSpans, quiet_export_logs
from bot.telemetry.ids import RunTraceIds
from bot.telemetry.meters import make_meters
from bot.telemetry.setup import Telemetry

ENDPOINT = "http://user:secret@collector:4318/v1/traces?token=abc"


class Scripted(SpanExporter):
    """Answers each export with the next of `results` (an exception is raised)."""

    def __init__(self, *results: SpanExportResult | Exception) -> None:
        self.results = list(results)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


class Stuck(SpanExporter):
    """An export that waits until released (a collector that never answers)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait()
        return SpanExportResult.FAILURE


class FailingMetrics(MetricExporter):
    def __init__(self) -> None:
        super().__init__()

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        raise ConnectionError("refused")

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        pass


def told(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.telemetry.export"]


def test_an_outage_is_told_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    failure, success = SpanExportResult.FAILURE, SpanExportResult.SUCCESS
    exporter = ReportedSpans(Scripted(failure, failure, failure, success, success), ENDPOINT)
    with caplog.at_level(logging.INFO):
        results = [exporter.export([]) for _ in range(5)]
    assert results == [failure, failure, failure, success, success]
    assert len(told(caplog)) == 2
    down, up = told(caplog)
    assert "could not export spans to http://collector:4318" in down
    assert "again" in up
    assert "secret" not in " ".join(told(caplog))  # no credentials, path or query
    assert "token" not in " ".join(told(caplog))


def test_an_exporter_that_raises_is_a_failure_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = ReportedSpans(Scripted(ConnectionError("refused"), RuntimeError("bug")), ENDPOINT)
    with caplog.at_level(logging.INFO):
        assert exporter.export([]) is SpanExportResult.FAILURE
        assert exporter.export([]) is SpanExportResult.FAILURE
    assert len(told(caplog)) == 1
    assert all(record.exc_info is None for record in caplog.records)


def test_metrics_keep_the_inner_exporters_temporality_and_fail_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inner = FailingMetrics()
    exporter = ReportedMetrics(inner, "http://collector:4318/v1/metrics")
    assert exporter._preferred_temporality == inner._preferred_temporality
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert exporter.export(MetricsData(resource_metrics=[])) is MetricExportResult.FAILURE
    assert told(caplog) == [
        "telemetry: could not export metrics to http://collector:4318; dropping them until it "
        "answers (ORCHESTRA_LOG_LEVEL=DEBUG shows each failure)"
    ]


@pytest.fixture
def root_at() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


@pytest.mark.usefixtures("root_at")
def test_the_sdk_s_export_records_show_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    quiet_export_logs()
    quiet_export_logs()  # once is enough; twice adds nothing
    sdk = logging.getLogger(EXPORT_LOGGERS[0])
    assert len(sdk.filters) == 1
    logging.getLogger().setLevel(logging.INFO)
    with caplog.at_level(logging.INFO):
        sdk.error("Failed to export spans batch")
    assert not caplog.records
    logging.getLogger().setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        sdk.error("Failed to export spans batch")
    assert [r.getMessage() for r in caplog.records] == ["Failed to export spans batch"]


def test_a_shutdown_stuck_in_an_export_is_given_up(caplog: pytest.LogCaptureFixture) -> None:
    stuck = Stuck()
    tracers = TracerProvider(id_generator=RunTraceIds(), shutdown_on_exit=False)
    tracers.add_span_processor(BatchSpanProcessor(stuck, schedule_delay_millis=1))
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    telemetry = Telemetry(
        tracer=tracers.get_tracer("test"),
        meters=make_meters(meters.get_meter("test")),
        ids=RunTraceIds(),
        traced=True,
        measured=True,
        _tracers=tracers,
        _meters=meters,
    )
    telemetry.tracer.start_span("run").end()
    assert stuck.entered.wait(30)  # the processor's thread is in the export, and stays there
    try:
        with caplog.at_level(logging.INFO):
            telemetry.shutdown(timeout_s=0.05)  # returns although the export never ends
        (gave_up,) = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
        assert gave_up.startswith("telemetry: gave up shutting down spans after")  # metrics: done
        telemetry.shutdown(timeout_s=0.05)  # a second call has nothing left to do
    finally:
        stuck.release.set()
