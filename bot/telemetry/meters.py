"""The app's instruments: the GenAI conventions' two histograms and Orchestra's own.

Names follow the OpenTelemetry GenAI semantic conventions where they define one
(`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`, with their advised
buckets); Orchestra's own are under `orchestra.`. A Prometheus scrape shows them with dots
as underscores and the unit as a suffix (`orchestra_runs_total`, `orchestra_run_duration_seconds`).
Attributes are ids, kinds and outcomes only: a channel id, never a channel's name or a text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, NoOpMeter, Observation
from opentelemetry.util.types import AttributeValue

# The conventions' advised boundaries (semantic-conventions, gen-ai-metrics.md, 2026).
TOKEN_BUCKETS = tuple(float(4**n) for n in range(14))  # 1, 4, 16, … 67,108,864
DURATION_BUCKETS = tuple(0.01 * 2**n for n in range(14))  # 0.01 s … 81.92 s
RUN_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0)


class Adds(Protocol):
    """What counting code sees of a counter: `add`, as on the SDK's counters."""

    def add(self, amount: float, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        """Count `amount` more for `attributes`."""
        ...


Key = tuple[tuple[str, AttributeValue], ...]


class Tally:
    """A counter (or up-down counter) kept as totals in a dict, which the SDK reads when it
    collects (an observable instrument's callback), instead of a measurement handed through
    the SDK's pipeline at each add.

    Same data either way (a cumulative sum by attributes), but an add here is a dict update
    on the event loop, where the SDK's add checked and hashed the attributes, found the
    stream and offered an exemplar: a run adds about twenty times (Slack calls, cost, queue
    and live counts), which made metrics a third of what telemetry cost a run (bench 11,
    2026-12-05). Histograms (token usage, durations) stay the SDK's synchronous kind: an
    observable instrument cannot report a distribution."""

    def __init__(self) -> None:
        self._totals: dict[Key, float] = {}

    def add(self, amount: float, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        """Count `amount` more for `attributes` (the event loop's thread only)."""
        key = tuple(sorted(attributes.items())) if attributes else ()
        self._totals[key] = self._totals.get(key, 0) + amount

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        """The totals so far (the SDK's collecting thread; one C call copies the dict)."""
        return [Observation(total, dict(key)) for key, total in list(self._totals.items())]


class NoTally:
    """Counts nothing: telemetry is off."""

    def add(self, amount: float, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        """Nothing."""


@dataclass(frozen=True)
class Meters:
    """Every instrument, made once from one meter."""

    token_usage: Histogram
    operation_duration: Histogram
    runs: Adds
    run_duration: Histogram
    queue_length: Adds
    queue_wait: Histogram
    live_runs: Adds
    cost: Adds
    slack_calls: Adds
    slack_rate_limited: Adds
    budget_refusals: Adds
    takeovers: Adds


def _counter(
    meter: Meter, name: str, unit: str, description: str, *, up_down: bool = False
) -> Adds:
    """A `Tally` the meter reads as an observable (up-down) counter; nothing when it is off."""
    if isinstance(meter, NoOpMeter):
        return NoTally()
    tally = Tally()
    make = meter.create_observable_up_down_counter if up_down else meter.create_observable_counter
    make(name, callbacks=[tally.observe], unit=unit, description=description)
    return tally


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
        runs=_counter(meter, "orchestra.runs", "{run}", "Runs ended, by outcome"),
        run_duration=meter.create_histogram(
            "orchestra.run.duration",
            unit="s",
            description="From a run's start (or resumption) to its end, by outcome",
            explicit_bucket_boundaries_advisory=RUN_BUCKETS,
        ),
        queue_length=_counter(
            meter, "orchestra.queue.length", "{run}", "Runs waiting for a slot", up_down=True
        ),
        queue_wait=meter.create_histogram(
            "orchestra.queue.wait",
            unit="s",
            description="How long runs waited for a slot",
            explicit_bucket_boundaries_advisory=RUN_BUCKETS,
        ),
        live_runs=_counter(
            meter, "orchestra.runs.live", "{run}", "Runs calling Claude now", up_down=True
        ),
        cost=_counter(
            meter,
            "orchestra.cost",
            "USD",
            "What Claude calls cost (list prices), by workspace and channel",
        ),
        slack_calls=_counter(
            meter, "orchestra.slack.calls", "{call}", "Slack Web API calls, by method"
        ),
        slack_rate_limited=_counter(
            meter,
            "orchestra.slack.rate_limited",
            "{response}",
            "Slack answers of 429 or `ratelimited`, by method",
        ),
        budget_refusals=_counter(
            meter,
            "orchestra.budget.refusals",
            "{run}",
            "Requests refused because a daily budget was spent",
        ),
        takeovers=_counter(
            meter,
            "orchestra.takeovers",
            "{run}",
            "Runs this replica took over from another (or resumed after a restart)",
        ),
    )
