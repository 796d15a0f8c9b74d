"""OTLP trace export requests written straight in protobuf's wire format.

The SDK's encoder (opentelemetry-exporter-otlp-proto-common 1.45) builds a protobuf object
for every span, attribute and value, then serializes them: 44 µs a span on our machines, all
of the span export thread's CPU and a third of what telemetry adds to a run (bench 11,
2026-12-05). A run's attributes mostly repeat (a model, a Slack method, an agent's name,
an operation), so here each (key, value) pair is encoded once and its bytes reused, and
the rest is written in place, field by field, as `opentelemetry/proto/trace/v1/trace.proto`
numbers them. The bytes decode to the message the SDK's encoder makes (property-tested in
tests/bot/telemetry/test_wire.py); a value this module does not write (a mapping, an
integer beyond 64 bits) sends the whole batch to the SDK's encoder instead."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind

# Span.flags: the context's is-remote bit is known; and set (trace.proto, SpanFlags).
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
# SpanKind as trace.proto numbers it (the API's enum starts at 0 for INTERNAL).
_KINDS = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_INT64 = 1 << 63
_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")


class Unwritable(Exception):
    """A value this module does not write: the batch goes to the SDK's encoder."""


_SMALL = [bytes((n,)) for n in range(0x80)]  # most varints written are lengths under 128


def _varint(n: int) -> bytes:
    """A protobuf varint (a negative int64 as its 64-bit two's complement)."""
    if 0 <= n < 0x80:
        return _SMALL[n]
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    return tag + _varint(len(payload)) + payload


def _any_value(value: object) -> bytes:
    """An AnyValue message (common.proto): a oneof, so even a default value is written."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise Unwritable("an integer beyond int64")
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join(_field(b"\x0a", _any_value(v)) for v in value))
    raise Unwritable(f"a value of type {type(value).__name__}")


@lru_cache(maxsize=4096, typed=True)
def _scalar_key_value(key: str, value: str | bool | int | float | None) -> bytes:
    """A KeyValue of a scalar, cached: the key and type of most attributes repeat."""
    return _field(b"\x0a", key.encode()) + _field(b"\x12", _any_value(value))


def _key_value(key: str, value: object) -> bytes:
    if isinstance(value, str | bool | int | float) or value is None:
        return _scalar_key_value(key, value)
    # A sequence's items may be equal across types (1 == True == 1.0): not cached.
    return _field(b"\x0a", key.encode()) + _field(b"\x12", _any_value(value))


def _attributes(tag: bytes, attributes: Mapping[str, object] | None) -> bytes:
    if not attributes:
        return b""
    return b"".join(_field(tag, _key_value(key, value)) for key, value in attributes.items())


def _flags(context: SpanContext | None) -> bytes:
    """Span.flags and Link.flags' value: fixed32."""
    flags = _HAS_IS_REMOTE
    if context is not None and context.is_remote:
        flags |= _IS_REMOTE
    return _FIXED32.pack(flags)


def _span(span: ReadableSpan) -> bytes:
    context = span.get_span_context()
    if context is None:
        raise Unwritable("a span without a context")
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
    ]
    if context.trace_state is not None:
        state = ",".join(f"{key}={value}" for key, value in context.trace_state.items())
        if state:
            parts.append(_field(b"\x1a", state.encode()))
    if span.parent is not None:
        parts.append(b"\x22\x08" + span.parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_field(b"\x2a", span.name.encode()))
    parts.append(b"\x30" + _varint(_KINDS[span.kind]))
    if span.start_time:
        parts.append(b"\x39" + _FIXED64.pack(span.start_time))
    if span.end_time:
        parts.append(b"\x41" + _FIXED64.pack(span.end_time))
    parts.append(_attributes(b"\x4a", span.attributes))
    if span.dropped_attributes:
        parts.append(b"\x50" + _varint(span.dropped_attributes))
    for event in span.events:
        written = b"\x09" + _FIXED64.pack(event.timestamp) if event.timestamp else b""
        if event.name:
            written += _field(b"\x12", event.name.encode())
        written += _attributes(b"\x1a", event.attributes)
        if event.dropped_attributes:
            written += b"\x20" + _varint(event.dropped_attributes)
        parts.append(_field(b"\x5a", written))
    if span.dropped_events:
        parts.append(b"\x60" + _varint(span.dropped_events))
    for link in span.links:
        written = (
            b"\x0a\x10"
            + link.context.trace_id.to_bytes(16, "big")
            + b"\x12\x08"
            + link.context.span_id.to_bytes(8, "big")
            + _attributes(b"\x22", link.attributes)
        )
        if link.dropped_attributes:
            written += b"\x28" + _varint(link.dropped_attributes)
        written += b"\x35" + _flags(link.context)
        parts.append(_field(b"\x6a", written))
    if span.dropped_links:
        parts.append(b"\x70" + _varint(span.dropped_links))
    if span.status is not None:
        status = b""
        if span.status.description:
            status += _field(b"\x12", span.status.description.encode())
        if span.status.status_code.value:
            status += b"\x18" + _varint(span.status.status_code.value)
        parts.append(_field(b"\x7a", status))
    parts.append(b"\x85\x01" + _flags(span.parent))
    return b"".join(parts)


def _scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b""
    written = _field(b"\x0a", scope.name.encode()) if scope.name else b""
    if scope.version:
        written += _field(b"\x12", scope.version.encode())
    return written + _attributes(b"\x1a", scope.attributes)


def _grouped(
    spans: Iterable[ReadableSpan],
) -> dict[Resource, dict[InstrumentationScope | None, list[bytes]]]:
    """The spans' messages by resource, then by scope, in the order they came."""
    groups: dict[Resource, dict[InstrumentationScope | None, list[bytes]]] = {}
    # A batch's spans share a few resource objects, and hashing a Resource serializes its
    # attributes to JSON: each object is looked up by its identity after its first span.
    seen: dict[int, dict[InstrumentationScope | None, list[bytes]]] = {}
    for span in spans:
        resource = span.resource
        scopes = seen.get(id(resource))
        if scopes is None:
            scopes = seen[id(resource)] = groups.setdefault(resource, {})
        scopes.setdefault(span.instrumentation_scope or None, []).append(_span(span))
    return groups


def request(spans: Sequence[ReadableSpan]) -> bytes:
    """An ExportTraceServiceRequest carrying `spans`, serialized (`Unwritable`: not here)."""
    written = []
    for resource, scopes in _grouped(spans).items():
        body = _field(b"\x0a", _attributes(b"\x0a", resource.attributes))
        for scope, messages in scopes.items():
            inner = _field(b"\x0a", _scope(scope))
            inner += b"".join(_field(b"\x12", message) for message in messages)
            if scope is not None and scope.schema_url:
                inner += _field(b"\x1a", scope.schema_url.encode())
            body += _field(b"\x12", inner)
        if resource.schema_url:
            body += _field(b"\x1a", resource.schema_url.encode())
        written.append(_field(b"\x0a", body))
    return b"".join(written)


def serialized(spans: Sequence[ReadableSpan]) -> bytes:
    """`request(spans)`, or the SDK encoder's bytes for what `request` does not write."""
    try:
        return request(spans)
    except Unwritable:
        encoded: bytes = encode_spans(spans).SerializePartialToString()
        return encoded


class WireSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/HTTP span exporter (its endpoint, headers, retries, compression and
    timeouts, from the same variables), with its requests written by `serialized`.

    `export` mirrors the SDK's own (1.45: a shut-down exporter refuses, an oversized request
    is dropped, the HTTP client retries) and uses its parts (`_client`, `_max_request_size`):
    the process tests (tests/faults/test_telemetry.py) export through it to a real receiver,
    so an SDK release that moves them fails there, not in production. The SDK's own export
    metrics (`OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED`, off by default) are not kept."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Send `spans` in one request."""
        if self._shutdown:
            return SpanExportResult.FAILURE
        data = serialized(spans)
        if 0 < self._max_request_size < len(data):  # the SDK's rule: drop, do not send
            return SpanExportResult.FAILURE
        result: Any = self._client.export(data)
        return SpanExportResult.SUCCESS if result.success else SpanExportResult.FAILURE
