"""`ORCHESTRA_LOG_FORMAT=json`: one JSON object per line, tied to the run and its trace.

Each record carries its time, level, logger and message (control characters escaped as in the
text format, so a value from Slack or a model can neither split a line nor rewrite a terminal;
JSON's own escaping would already keep it on one line), the run id of the run whose task logged
it, and the trace and span ids current then (absent when no span is recording). Nothing more
than the text format says: log messages carry ids and kinds, never prompts or answers."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from opentelemetry import trace

from bot.log_safety import escape_controls
from bot.telemetry.runs import current_run


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's fields, the run id and trace ids, the traceback as one field."""
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": escape_controls(record.getMessage()),
        }
        run = current_run()
        if run is not None:
            entry["run_id"] = run.run_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = trace.format_trace_id(span.trace_id)
            entry["span_id"] = trace.format_span_id(span.span_id)
        if record.exc_info:
            entry["exception"] = escape_controls(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = escape_controls(record.exc_text)
        if record.stack_info:
            entry["stack"] = escape_controls(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=True)
