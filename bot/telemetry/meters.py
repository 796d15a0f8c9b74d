"""The app's instruments: the GenAI conventions' two histograms and Orchestra's own.

Names follow the OpenTelemetry GenAI semantic conventions where they define one
(`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`, with their advised
buckets); Orchestra's own are under `orchestra.`. A Prometheus scrape shows them with dots
as underscores and the unit as a suffix (`orchestra_runs_total`, `orchestra_run_duration_seconds`).
Attributes are ids, kinds and outcomes only: a channel id, never a channel's name or a text.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

# The conventions' advised boundaries (semantic-conventions, gen-ai-metrics.md, 2026).
TOKEN_BUCKETS = tuple(float(4**n) for n in range(14))  # 1, 4, 16, … 67,108,864
DURATION_BUCKETS = tuple(0.01 * 2**n for n in range(14))  # 0.01 s … 81.92 s
RUN_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0)


@dataclass(frozen=True)
class Meters:
    """Every instrument, made once from one meter."""

    token_usage: Histogram
    operation_duration: Histogram
    runs: Counter
    run_duration: Histogram
    queue_length: UpDownCounter
    queue_wait: Histogram
    live_runs: UpDownCounter
    cost: Counter
    slack_calls: Counter
    slack_rate_limited: Counter
    budget_refusals: Counter
    takeovers: Counter


def make_meters(meter: Meter) -> Meters:
    """The instruments on `meter` (a no-op meter makes no-op instruments)."""
    return Meters(
        token_usage=meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Tokens used per Claude call, by gen_ai.token.type (input, output)",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        ),
        operation_duration=meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Duration of each Claude call",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        ),
        runs=meter.create_counter(
            "orchestra.runs", unit="{run}", description="Runs ended, by outcome"
        ),
        run_duration=meter.create_histogram(
            "orchestra.run.duration",
            unit="s",
            description="From a run's start (or resumption) to its end, by outcome",
            explicit_bucket_boundaries_advisory=RUN_BUCKETS,
        ),
        queue_length=meter.create_up_down_counter(
            "orchestra.queue.length", unit="{run}", description="Runs waiting for a slot"
        ),
        queue_wait=meter.create_histogram(
            "orchestra.queue.wait",
            unit="s",
            description="How long runs waited for a slot",
            explicit_bucket_boundaries_advisory=RUN_BUCKETS,
        ),
        live_runs=meter.create_up_down_counter(
            "orchestra.runs.live", unit="{run}", description="Runs calling Claude now"
        ),
        cost=meter.create_counter(
            "orchestra.cost",
            unit="USD",
            description="What Claude calls cost (list prices), by workspace and channel",
        ),
        slack_calls=meter.create_counter(
            "orchestra.slack.calls", unit="{call}", description="Slack Web API calls, by method"
        ),
        slack_rate_limited=meter.create_counter(
            "orchestra.slack.rate_limited",
            unit="{response}",
            description="Slack answers of 429 or `ratelimited`, by method",
        ),
        budget_refusals=meter.create_counter(
            "orchestra.budget.refusals",
            unit="{run}",
            description="Requests refused because a daily budget was spent",
        ),
        takeovers=meter.create_counter(
            "orchestra.takeovers",
            unit="{run}",
            description="Runs this replica took over from another (or resumed after a restart)",
        ),
    )
