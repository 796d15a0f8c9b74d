"""Telemetry at the composition root: its config from the settings, the dependencies it
wraps (each Claude call a span), the log format, and the /metrics scrape."""

from __future__ import annotations

import dataclasses
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.config import Settings
from bot.deps import Deps
from bot.slack.observed import observe_calls
from bot.telemetry import Telemetry, TelemetryConfig, TracedLLM
from bot.telemetry.logs import JsonFormatter

METRICS_PATH = "/metrics"


def telemetry_config(settings: Settings) -> TelemetryConfig:
    """What the settings ask to export."""
    return TelemetryConfig(
        endpoint=settings.otel_exporter_otlp_endpoint,
        service_name=settings.otel_service_name,
        capture_content=settings.otel_instrumentation_genai_capture_message_content,
        prometheus=settings.prometheus_metrics,
    )


def with_telemetry(deps: Deps, telemetry: Telemetry) -> Deps:
    """`deps` reporting to `telemetry`: Claude and Slack calls wrapped in their spans and
    counted when it is on (when it is off, nothing is wrapped: no cost)."""
    if not telemetry.on:
        return dataclasses.replace(deps, telemetry=telemetry)
    # The one client every Slack call goes through (Bolt's per-request clients copy its
    # retry handlers, so listeners' calls are counted too).
    observe_calls(deps.io.client, telemetry)
    llm = TracedLLM(deps.llm, telemetry, deps.config)
    return dataclasses.replace(deps, llm=llm, telemetry=telemetry)


def log_formatter(settings: Settings) -> logging.Formatter | None:
    """JSON lines for ORCHESTRA_LOG_FORMAT=json; None: the text format."""
    return JsonFormatter() if settings.log_format == "json" else None


def add_metrics_route(web_app: web.Application, telemetry: Telemetry) -> None:
    """GET /metrics for Prometheus, when ORCHESTRA_PROMETHEUS_METRICS asks for it."""
    registry = telemetry.scrape
    if registry is None:
        return

    async def metrics(request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    web_app.router.add_get(METRICS_PATH, metrics)
