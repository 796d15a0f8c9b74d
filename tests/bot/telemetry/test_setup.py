"""What the settings turn on (bot.telemetry.setup): nothing without an endpoint or /metrics;
each signal's URL as the OTLP/HTTP specification builds it."""

from __future__ import annotations

from opentelemetry.trace import NoOpTracer

from bot.telemetry.setup import TelemetryConfig, _signal_endpoint, start_telemetry


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
