"""A run's root span, its stages' spans, and its place in the queue and among live runs
(bot.telemetry.runs), on an in-memory SDK."""

from __future__ import annotations

import pytest

from bot.telemetry.ids import new_trace_id
from bot.telemetry.runs import RunLabels, current_run, queued, run_span, tracing_of
from bot.telemetry.setup import telemetry_off
from pipeline.tracing import NO_TRACING
from tests.bot.telemetry.conftest import Recorded

GOAL = "compare quokka tides"


def labels() -> RunLabels:
    return RunLabels(run_id="r-1", workspace="T1", channel="C1")


def test_a_run_s_attempt_is_a_root_span_in_its_stored_trace(recorded: Recorded) -> None:
    stored = new_trace_id()
    with run_span(recorded.telemetry, labels(), trace_id=stored, resumed=True, goal=GOAL) as root:
        assert current_run() == labels()
        root.outcome = "succeeded"
    assert current_run() is None
    (span,) = recorded.finished()
    assert span.parent is None
    assert f"{span.context.trace_id:032x}" == stored
    assert span.attributes is not None
    assert span.attributes["orchestra.run.resumed"] is True
    assert span.attributes["orchestra.run.outcome"] == "succeeded"
    assert span.attributes["orchestra.channel"] == "C1"
    assert GOAL not in str(dict(span.attributes))
    ((outcome, count),) = recorded.points("orchestra.runs")
    assert (outcome, count) == ({"outcome": "succeeded"}, 1)


def test_the_goal_is_on_the_root_only_with_capture_on(recorded: Recorded) -> None:
    recorded.telemetry.capture_content = True
    with run_span(recorded.telemetry, labels(), trace_id=None, resumed=False, goal=GOAL):
        pass
    (span,) = recorded.finished()
    assert span.attributes is not None
    assert span.attributes["orchestra.run.goal"] == GOAL


def test_a_run_that_never_says_how_it_ended_is_interrupted(recorded: Recorded) -> None:
    with (
        pytest.raises(RuntimeError),
        run_span(recorded.telemetry, labels(), trace_id=None, resumed=False, goal=GOAL),
    ):
        raise RuntimeError("boom")
    (span,) = recorded.finished()
    assert span.attributes is not None
    assert span.attributes["orchestra.run.outcome"] == "interrupted"


def test_stages_nest_under_the_root_and_notes_become_events(recorded: Recorded) -> None:
    tracing = tracing_of(recorded.telemetry)
    with (
        run_span(recorded.telemetry, labels(), trace_id=None, resumed=False, goal=GOAL),
        tracing.stage("subagent", "s1"),
    ):
        tracing.note("retry", {"attempt": 2, "kind": "overloaded"})
    stage, root = recorded.finished()
    assert stage.parent is not None
    assert stage.parent.span_id == root.context.span_id
    assert stage.name == "invoke_agent subagent"
    assert stage.attributes is not None
    assert stage.attributes["orchestra.subtask.id"] == "s1"
    assert [e.name for e in stage.events] == ["orchestra.retry"]


def test_without_traces_the_pipeline_gets_no_tracing() -> None:
    assert tracing_of(telemetry_off()) is NO_TRACING


def test_a_queued_run_counts_in_the_queue_then_as_live_until_its_root_ends(
    recorded: Recorded,
) -> None:
    with run_span(recorded.telemetry, labels(), trace_id=None, resumed=False, goal=GOAL):
        with queued(recorded.telemetry):
            assert recorded.total("orchestra.queue.length") == 1
            assert recorded.total("orchestra.runs.live") == 0
        assert recorded.total("orchestra.queue.length") == 0
        assert recorded.total("orchestra.runs.live") == 1
        assert recorded.total("orchestra.queue.wait") == 1  # one wait measured
    assert recorded.total("orchestra.runs.live") == 0
