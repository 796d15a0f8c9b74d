"""A run's root span and its stages' spans (the pipeline's `Tracing` hook), and the run's
labels in the OpenTelemetry context, where Claude calls (cost by channel) and JSON log lines
(the run id) find them."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from bot.telemetry.ids import parse_trace_id
from bot.telemetry.setup import Telemetry
from pipeline.tracing import NO_TRACING, NoteValue, Stage, Tracing

# The OpenTelemetry context's slot for the run going on (the API's own mechanism: a key).
RUN_KEY = otel_context.create_key("orchestra.run")

# The pipeline's stages as GenAI agents (`gen_ai.agent.name`).
AGENTS: Mapping[Stage, str] = {
    "plan": "orchestrator",
    "subagent": "subagent",
    "integrator": "integrator",
    "follow_ups": "follow_ups",  # the suggested follow-up questions' call (issue 23.3)
}


@dataclass
class RunLabels:
    """Who a run is for (ids only), and whether it is live (has its slot)."""

    run_id: str
    workspace: str
    channel: str
    live: bool = False


def current_run() -> RunLabels | None:
    """The labels of the run whose task this is, if any."""
    value = otel_context.get_value(RUN_KEY)
    return value if isinstance(value, RunLabels) else None


@dataclass
class RunTrace:
    """The root span of one attempt at a run; `outcome` is set as the run ends."""

    span: Span
    outcome: str = "interrupted"  # a task cancelled before the run said how it ended


@contextmanager
def run_span(
    telemetry: Telemetry,
    labels: RunLabels,
    *,
    trace_id: str | None,
    resumed: bool,
    goal: str,
) -> Iterator[RunTrace]:
    """The run's root span, in the run's stored trace (`trace_id`), current inside.

    A resumed or taken-over attempt opens a new root in the same trace and says so
    (`orchestra.run.resumed`). The goal is an attribute only when content capture is on."""
    attributes: dict[str, str | bool] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "orchestra",
        "gen_ai.provider.name": "anthropic",
        "orchestra.run.id": labels.run_id,
        "orchestra.workspace": labels.workspace,
        "orchestra.channel": labels.channel,
        "orchestra.run.resumed": resumed,
    }
    if telemetry.capture_content:
        attributes["orchestra.run.goal"] = goal
    # An empty parent context: the run is a root whatever task started it.
    parent = otel_context.set_value(RUN_KEY, labels, otel_context.Context())
    with telemetry.ids.using(parse_trace_id(trace_id)):
        span = telemetry.tracer.start_span(
            "invoke_agent orchestra", context=parent, kind=SpanKind.INTERNAL, attributes=attributes
        )
    token = otel_context.attach(trace.set_span_in_context(span, parent))
    handle = RunTrace(span)
    started = time.perf_counter()
    try:
        yield handle
    except BaseException as exc:
        if not isinstance(exc, GeneratorExit):
            span.record_exception(exc)
        raise
    finally:
        outcome = {"outcome": handle.outcome}
        span.set_attribute("orchestra.run.outcome", handle.outcome)
        if handle.outcome == "failed":
            span.set_status(Status(StatusCode.ERROR))
        if labels.live:
            telemetry.meters.live_runs.add(-1)
        telemetry.meters.runs.add(1, outcome)
        telemetry.meters.run_duration.record(time.perf_counter() - started, outcome)
        span.end()
        otel_context.detach(token)


class StageSpans:
    """The pipeline's `Tracing` on OpenTelemetry: a span per stage, notes as span events."""

    def __init__(self, telemetry: Telemetry) -> None:
        self._tracer = telemetry.tracer

    def stage(self, stage: Stage, subtask_id: str | None = None) -> AbstractContextManager[None]:
        """An `invoke_agent` span around the stage, current inside (its calls go under it)."""
        return self._span(stage, subtask_id)

    @contextmanager
    def _span(self, stage: Stage, subtask_id: str | None) -> Iterator[None]:
        agent = AGENTS[stage]
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent,
            "gen_ai.provider.name": "anthropic",
        }
        if subtask_id is not None:
            attributes["orchestra.subtask.id"] = subtask_id
        with self._tracer.start_as_current_span(f"invoke_agent {agent}", attributes=attributes):
            yield

    def note(self, name: str, attributes: Mapping[str, NoteValue]) -> None:
        """An event on the stage's span (a retry: its attempt, error kind and wait)."""
        trace.get_current_span().add_event(f"orchestra.{name}", dict(attributes))


def tracing_of(telemetry: Telemetry) -> Tracing:
    """The pipeline's hook: stage spans when traces are exported, else nothing."""
    return StageSpans(telemetry) if telemetry.traced else NO_TRACING


@contextmanager
def queued(telemetry: Telemetry) -> Iterator[None]:
    """A run waiting for its slot: counted in the queue while inside, its wait measured; once
    it has its slot it counts as live until its root span ends (`run_span`)."""
    meters = telemetry.meters
    meters.queue_length.add(1)
    started = time.perf_counter()
    try:
        yield
    finally:
        meters.queue_length.add(-1)
    meters.queue_wait.record(time.perf_counter() - started)
    run = current_run()
    if run is not None and not run.live:
        run.live = True
        meters.live_runs.add(1)
