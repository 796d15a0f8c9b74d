"""OTLP trace requests written by `bot.telemetry.wire` decode to what the SDK's encoder
makes of the same spans, whatever the spans hold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceState

from bot.telemetry.wire import request, serialized
from tests.bot.render.test_message_properties import FAST

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=20)
KEYS = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12)
INT64 = st.integers(-(2**63), 2**63 - 1)
FLOATS = st.floats(allow_nan=False)
SCALARS = st.one_of(TEXT, st.booleans(), INT64, FLOATS)
VALUES = st.one_of(
    st.none(),
    SCALARS,
    st.lists(TEXT, max_size=3).map(tuple),
    st.lists(st.booleans(), max_size=3).map(tuple),
    st.lists(INT64, max_size=3).map(tuple),
    st.lists(FLOATS, max_size=3).map(tuple),
)
ATTRIBUTES = st.dictionaries(KEYS, VALUES, max_size=6)
STATES = st.lists(
    st.tuples(st.sampled_from(["vendor", "rojo", "congo"]), st.sampled_from(["a1", "00f067"])),
    max_size=2,
    unique_by=lambda kv: kv[0],
).map(TraceState)
CONTEXTS = st.builds(
    SpanContext,
    trace_id=st.integers(1, 2**128 - 1),
    span_id=st.integers(1, 2**64 - 1),
    is_remote=st.booleans(),
    trace_state=STATES,
)
TIMES = st.one_of(st.none(), st.integers(0, 2**64 - 1))
RESOURCES = st.sampled_from(
    [
        Resource({"service.name": "orchestra"}),
        Resource({"service.name": "orchestra", "host.name": "r2"}, "https://schema.example/1"),
    ]
)
SCOPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            InstrumentationScope("orchestra"),
            InstrumentationScope("orchestra", "1.2", "https://schema.example/s", {"k": "v"}),
        ]
    ),
)
STATUSES = st.one_of(
    st.none(),
    st.builds(Status, st.sampled_from([StatusCode.UNSET, StatusCode.OK])),
    st.builds(Status, st.just(StatusCode.ERROR), st.one_of(st.none(), TEXT)),
)
SPANS = st.builds(
    ReadableSpan,
    name=TEXT,
    context=CONTEXTS,
    parent=st.one_of(st.none(), CONTEXTS),
    resource=RESOURCES,
    attributes=ATTRIBUTES,
    events=st.lists(st.builds(Event, TEXT, ATTRIBUTES, st.integers(0, 2**64 - 1)), max_size=2),
    links=st.lists(st.builds(Link, CONTEXTS, ATTRIBUTES), max_size=2),
    kind=st.sampled_from(list(SpanKind)),
    status=STATUSES,
    start_time=TIMES,
    end_time=TIMES,
    instrumentation_scope=SCOPES,
)


@FAST
@given(st.lists(SPANS, max_size=5))
def test_a_request_decodes_to_what_the_sdk_encodes(spans: list[ReadableSpan]) -> None:
    assert ExportTraceServiceRequest.FromString(request(spans)) == encode_spans(spans)


def test_what_it_does_not_write_goes_to_the_sdk_encoder() -> None:
    context = SpanContext(trace_id=1, span_id=2, is_remote=False)
    huge = ReadableSpan("s", context, attributes={"n": 2**70, "m": {"nested": 1}})
    assert serialized([huge]) == encode_spans([huge]).SerializePartialToString()


def test_bool_int_and_float_attributes_keep_their_types_though_equal() -> None:
    # 1 == True == 1.0: a cache keyed by value alone would hand one type's bytes to another.
    context = SpanContext(trace_id=1, span_id=2, is_remote=False)
    spans = [
        ReadableSpan("s", context, attributes={"v": value})
        for value in (1, True, 1.0, (1,), (True,), (1.0,))
    ]
    assert ExportTraceServiceRequest.FromString(request(spans)) == encode_spans(spans)
