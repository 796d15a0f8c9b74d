"""ORCHESTRA_LOG_FORMAT=json (bot.telemetry.logs): one JSON object per line, whatever the
message; the run's id and the trace and span ids current when it was logged; nothing else."""

from __future__ import annotations

import json
import logging
import sys

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider

from bot.log_safety import escape_controls
from bot.telemetry.logs import JsonFormatter
from bot.telemetry.runs import RUN_KEY, RunLabels

FIELDS = {"time", "level", "logger", "message"}


def record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(msg)
        except ValueError:
            exc_info = sys.exc_info()
    made = logging.LogRecord("bot.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    made.__dict__.update(extra)
    return made


def one_object(line: str) -> dict[str, str]:
    assert line.splitlines() == [line]  # one line, whatever the text
    assert line.isascii()
    loaded = json.loads(line)
    assert isinstance(loaded, dict)
    return loaded


@given(st.text(), st.text())
def test_any_message_is_one_json_object_per_line_escaped_as_the_text_format(
    msg: str, arg: str
) -> None:
    template = "%s said: " + msg.replace("%", "")
    entry = one_object(JsonFormatter().format(record(template, arg)))
    assert entry["message"] == escape_controls(template % arg)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "bot.test"
    assert set(entry) == FIELDS  # no run, no span: no ids


@given(st.text(), st.text())
def test_what_a_record_carries_beyond_its_message_is_never_written(msg: str, goal: str) -> None:
    # A careless `extra=` (a goal, a prompt) stays out: the format writes its own fields only.
    entry = one_object(JsonFormatter().format(record("run started", goal=goal, prompt=msg)))
    assert set(entry) == FIELDS
    assert entry["message"] == "run started"


@given(st.text(min_size=1))
def test_a_traceback_stays_inside_the_line(msg: str) -> None:
    entry = one_object(JsonFormatter().format(record(msg.replace("%", ""), exc=True)))
    assert "ValueError" in entry["exception"]
    assert entry["exception"] == escape_controls(entry["exception"])  # escaped already


def test_a_record_of_a_run_carries_its_run_id_and_the_current_span_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    labels = RunLabels(run_id="r-1", workspace="T1", channel="C1")
    token = otel_context.attach(otel_context.set_value(RUN_KEY, labels))
    try:
        with tracer.start_as_current_span("stage") as span:
            entry = one_object(JsonFormatter().format(record("subtask %s done", "s1")))
        context = span.get_span_context()
    finally:
        otel_context.detach(token)
    assert entry["run_id"] == "r-1"
    assert entry["trace_id"] == f"{context.trace_id:032x}"
    assert entry["span_id"] == f"{context.span_id:016x}"
    assert set(entry) == FIELDS | {"run_id", "trace_id", "span_id"}
    assert "T1" not in entry.values()
    assert "C1" not in entry.values()


def test_outside_a_run_there_is_no_run_id() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("startup"):
        entry = one_object(JsonFormatter().format(record("ready")))
    assert "run_id" not in entry
    assert {"trace_id", "span_id"} <= set(entry)
