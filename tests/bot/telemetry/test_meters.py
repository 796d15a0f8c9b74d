"""Counters kept as tallies (`bot.telemetry.meters.Tally`): what the SDK collects is what
was added, one stream per set of attributes whatever their order, and nothing when off."""

from __future__ import annotations

from opentelemetry.metrics import NoOpMeter

from bot.telemetry.meters import NoTally, make_meters
from tests.bot.telemetry.conftest import Recorded


def test_adds_are_collected_as_one_cumulative_stream_per_attribute_set(
    recorded: Recorded,
) -> None:
    cost = recorded.telemetry.meters.cost
    cost.add(0.25, {"orchestra.workspace": "T1", "orchestra.channel": "C1"})
    cost.add(0.5, {"orchestra.channel": "C1", "orchestra.workspace": "T1"})  # same set
    cost.add(1.0, {"orchestra.workspace": "T1", "orchestra.channel": "C2"})
    points = sorted(recorded.points("orchestra.cost"), key=lambda p: str(p[0]))
    assert points == [
        ({"orchestra.workspace": "T1", "orchestra.channel": "C1"}, 0.75),
        ({"orchestra.workspace": "T1", "orchestra.channel": "C2"}, 1.0),
    ]
    cost.add(0.25, {"orchestra.workspace": "T1", "orchestra.channel": "C2"})
    assert recorded.total("orchestra.cost") == 2.0  # cumulative across collections


def test_an_up_down_count_goes_down_as_well(recorded: Recorded) -> None:
    live = recorded.telemetry.meters.live_runs
    live.add(1)
    live.add(1)
    live.add(-1)
    assert recorded.total("orchestra.runs.live") == 1


def test_with_telemetry_off_nothing_is_kept() -> None:
    meters = make_meters(NoOpMeter("off"))
    assert isinstance(meters.slack_calls, NoTally)
    assert isinstance(meters.cost, NoTally)
