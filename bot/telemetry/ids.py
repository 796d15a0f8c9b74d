"""Trace ids chosen by the run: a run's spans share one trace across its attempts.

A resumed or taken-over attempt opens a new root span (the killed attempt's root was never
exported) in the trace the run's first attempt began, whose id the store keeps."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator


def new_trace_id() -> str:
    """A fresh trace id as the store keeps it: 32 hex digits, never all zero (invalid)."""
    while True:
        value = secrets.token_hex(16)
        if int(value, 16):
            return value


def parse_trace_id(value: str | None) -> int | None:
    """The stored id as OpenTelemetry's integer, or None when there is no valid one."""
    if not value or len(value) != 32:
        return None
    try:
        number = int(value, 16)
    except ValueError:
        return None
    return number or None


class RunTraceIds(IdGenerator):
    """Random ids, except a root span opened under `using(trace_id)` gets that trace id.

    The id to use is a context variable of this instance, so runs on one event loop (each
    its own task, its own context) never take each other's."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self._next: ContextVar[int | None] = ContextVar("orchestra_trace_id", default=None)

    def generate_span_id(self) -> int:
        """A random span id."""
        return self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        """The run's trace id inside `using`, else a random one."""
        chosen = self._next.get()
        return chosen if chosen is not None else self._random.generate_trace_id()

    @contextmanager
    def using(self, trace_id: int | None) -> Iterator[None]:
        """Root spans opened inside get `trace_id` (None: random ones)."""
        token = self._next.set(trace_id)
        try:
            yield
        finally:
            self._next.reset(token)
