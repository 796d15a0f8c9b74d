"""OpenTelemetry for the app: traces of runs and Claude calls, metrics, run-tied JSON logs.

Nothing here is on unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or the opt-in /metrics) asks for it;
see the README's "Operating Orchestra"."""

from bot.telemetry.genai import TracedLLM
from bot.telemetry.ids import new_trace_id
from bot.telemetry.meters import Meters
from bot.telemetry.runs import RunLabels, RunTrace, current_run, queued, run_span, tracing_of
from bot.telemetry.setup import Telemetry, TelemetryConfig, start_telemetry, telemetry_off

__all__ = [
    "Meters",
    "RunLabels",
    "RunTrace",
    "Telemetry",
    "TelemetryConfig",
    "TracedLLM",
    "current_run",
    "new_trace_id",
    "queued",
    "run_span",
    "start_telemetry",
    "telemetry_off",
    "tracing_of",
]
