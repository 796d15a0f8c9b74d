"""Each Claude call as one span and two measurements, on the GenAI semantic conventions.

The anthropic SDK's own call span (`anthropic.messages.create`, anthropic/_tracing.py in 2.x)
is switched off where the client is made (`pipeline.anthropic_llm.make_client`): it lacks
`gen_ai.usage.input_tokens` and `gen_ai.response.finish_reasons`, and two spans per call
would count every call twice. This span wraps one `LLM.complete`, one API request: a retry
is another request, so another span (the stage's span carries the retry as an event).

Content (system prompt, messages, the reply) is recorded only with capture on
(`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`), as the conventions'
`gen_ai.system_instructions`, `gen_ai.input.messages` and `gen_ai.output.messages`.
"""

from __future__ import annotations

import json
import time

from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from bot.telemetry.current import Current
from bot.telemetry.runs import current_run
from bot.telemetry.setup import Telemetry
from pipeline import LLM, LLMError, LLMReply, LLMRequest, PipelineConfig, cost_of
from pipeline.llm import TextCallback

PROVIDER = "anthropic"
OPERATION = "chat"


def request_attributes(request: LLMRequest) -> dict[str, AttributeValue]:
    """What is known before the call: ids, model, limits (no content)."""
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": request.model,
        "gen_ai.request.max_tokens": request.max_tokens,
        "orchestra.role": request.role,
    }
    if request.web is not None:
        attributes["orchestra.web_search.max_uses"] = request.web.max_uses
    if request.paused:
        attributes["orchestra.continuation"] = len(request.paused)
    return attributes


def reply_attributes(reply: LLMReply) -> dict[str, AttributeValue]:
    """What the reply says: its model, why it stopped, what it used.

    `gen_ai.usage.input_tokens` counts every input token, cached ones too (the conventions'
    rule); Anthropic's `input_tokens` alone is the uncached part, so the cache reads and
    writes are also given apart."""
    usage = reply.usage
    attributes: dict[str, AttributeValue] = {
        "gen_ai.response.model": reply.model,
        "gen_ai.usage.input_tokens": usage.total_input,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_creation_input_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read_input_tokens,
        "orchestra.web_search.requests": reply.searches,
    }
    if reply.stop_reason:
        attributes["gen_ai.response.finish_reasons"] = [reply.stop_reason]
    if reply.search_errors:
        attributes["orchestra.web_search.errors"] = list(reply.search_errors)
    return attributes


def content_attributes(request: LLMRequest) -> dict[str, AttributeValue]:
    """The request's content, as the conventions shape it (only with capture on)."""
    messages = [
        {"role": m.role, "parts": [{"type": "text", "content": m.content}]}
        for m in request.messages
    ]
    return {
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": request.system}]),
        "gen_ai.input.messages": json.dumps(messages),
    }


def output_attributes(reply: LLMReply) -> dict[str, AttributeValue]:
    """The reply's text, as the conventions shape it (only with capture on)."""
    output = {
        "role": "assistant",
        "parts": [{"type": "text", "content": reply.text}],
        "finish_reason": reply.stop_reason or "",
    }
    return {"gen_ai.output.messages": json.dumps([output])}


class TracedLLM:
    """An `LLM` whose every call is one `chat {model}` client span, measured."""

    def __init__(self, inner: LLM, telemetry: Telemetry, config: PipelineConfig) -> None:
        self._inner = inner
        self._telemetry = telemetry
        self._config = config

    async def complete(self, request: LLMRequest, on_text: TextCallback | None = None) -> LLMReply:
        """The inner call, inside its span; duration and tokens recorded."""
        telemetry = self._telemetry
        attributes = request_attributes(request)
        if telemetry.capture_content:
            attributes.update(content_attributes(request))
        metric: dict[str, AttributeValue] = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": request.model,
        }
        started = time.perf_counter()
        with Current(
            telemetry.tracer.start_span(
                f"{OPERATION} {request.model}", kind=SpanKind.CLIENT, attributes=attributes
            )
        ) as span:
            try:
                reply = await self._inner.complete(request, on_text)
            except LLMError as error:
                # The error's kind, never its text (a 400's text may quote the request).
                span.set_status(Status(StatusCode.ERROR, error.kind))
                span.set_attribute("error.type", error.kind)
                metric["error.type"] = error.kind
                telemetry.meters.operation_duration.record(time.perf_counter() - started, metric)
                raise
            except BaseException as error:
                span.set_attribute("error.type", type(error).__name__)
                metric["error.type"] = type(error).__name__
                telemetry.meters.operation_duration.record(time.perf_counter() - started, metric)
                raise
            span.set_attributes(reply_attributes(reply))
            if telemetry.capture_content:
                span.set_attributes(output_attributes(reply))
        metric["gen_ai.response.model"] = reply.model
        telemetry.meters.operation_duration.record(time.perf_counter() - started, metric)
        meters = telemetry.meters
        meters.token_usage.record(reply.usage.total_input, {**metric, "gen_ai.token.type": "input"})
        meters.token_usage.record(
            reply.usage.output_tokens, {**metric, "gen_ai.token.type": "output"}
        )
        cost = cost_of(reply.usage, request.model, self._config)
        run = current_run()
        if cost and run is not None:
            meters.cost.add(
                cost, {"orchestra.workspace": run.workspace, "orchestra.channel": run.channel}
            )
        return reply
