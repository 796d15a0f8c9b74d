"""A client span current while its call runs, at a lower cost than the SDK's helper."""

from __future__ import annotations

from contextvars import Token
from types import TracebackType

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span


class Current:
    """`span` made current inside, ended on the way out: what the SDK's
    `start_as_current_span(..., record_exception=False, set_status_on_exception=False)` does
    with the span once started, without its two generator-based context managers. A run
    opens about fourteen such spans (its Claude and Slack calls): 1.10 -> 1.04 ms of event-loop
    CPU for a run's instrumentation, replayed alone (bench/PROFILE_NOTES.md, 2026-12-05)."""

    __slots__ = ("_token", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self._token: Token[Context] | None = None

    def __enter__(self) -> Span:
        self._token = otel_context.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
        self.span.end()
