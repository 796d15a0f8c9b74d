"""What the settings turn on (bot.telemetry.setup): nothing without an endpoint or /metrics;
each signal's URL as the OTLP/HTTP specification builds it."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    TraceBasedExemplarFilter,
)
from opentelemetry.trace import NoOpTracer

from bot.telemetry.setup import (
    TelemetryConfig,
    _signal_endpoint,
    exemplar_filter,
    start_telemetry,
)


def test_nothing_asked_nothing_made() -> None:
    telemetry = start_telemetry(TelemetryConfig(environ={}))
    assert not telemetry.on
    assert isinstance(telemetry.tracer, NoOpTracer)
    assert telemetry.scrape is None
    telemetry.shutdown()  # nothing to flush: no error


def test_metrics_page_alone_serves_metrics_and_traces_nothing() -> None:
    telemetry = start_telemetry(TelemetryConfig(prometheus=True, environ={}))
    try:
        assert telemetry.measured
        assert not telemetry.traced
        assert telemetry.scrape is not None
    finally:
        telemetry.shutdown()


def test_each_signal_goes_to_the_endpoint_plus_its_path() -> None:
    config = TelemetryConfig(endpoint="http://collector:4318/", environ={})
    assert _signal_endpoint(config, "traces") == "http://collector:4318/v1/traces"
    assert _signal_endpoint(config, "metrics") == "http://collector:4318/v1/metrics"


def test_a_signal_s_own_endpoint_variable_is_left_to_the_sdk() -> None:
    environ = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/v1/traces"}
    config = TelemetryConfig(endpoint="http://collector:4318", environ=environ)
    assert _signal_endpoint(config, "traces") is None
    assert _signal_endpoint(config, "metrics") == "http://collector:4318/v1/metrics"


def test_exemplars_are_off_unless_the_variable_asks_for_them() -> None:
    assert isinstance(exemplar_filter({}), AlwaysOffExemplarFilter)
    on = {"OTEL_METRICS_EXEMPLAR_FILTER": "trace_based"}
    assert isinstance(exemplar_filter(on), TraceBasedExemplarFilter)
    assert isinstance(
        exemplar_filter({"OTEL_METRICS_EXEMPLAR_FILTER": " Always_On "}), AlwaysOnExemplarFilter
    )
    telemetry = start_telemetry(TelemetryConfig(prometheus=True, environ=on))
    try:
        assert telemetry._meters is not None
        used = telemetry._meters._sdk_config.exemplar_filter
        assert isinstance(used, TraceBasedExemplarFilter)
    finally:
        telemetry.shutdown()


def test_an_unknown_exemplar_filter_is_named_in_the_log_and_keeps_them_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        chosen = exemplar_filter({"OTEL_METRICS_EXEMPLAR_FILTER": "sometimes"})
    assert isinstance(chosen, AlwaysOffExemplarFilter)
    assert "'sometimes'" in caplog.text
    assert "trace_based" in caplog.text
