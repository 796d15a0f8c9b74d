"""A Claude call's span attributes on the GenAI conventions (bot.telemetry.genai): ids, models,
counts and reasons always; content only as the conventions' message attributes, with capture
on; and one span, two measurements per call."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.telemetry.genai import (
    TracedLLM,
    content_attributes,
    output_attributes,
    reply_attributes,
    request_attributes,
)
from pipeline import LLMError, LLMReply, LLMRequest, PipelineConfig
from pipeline.llm import Message, Usage, WebTools
from pipeline.testing import FunctionLLM
from tests.bot.telemetry.conftest import Recorded

MODEL = "claude-haiku-4-5"


def request(system: str = "sys", content: str = "goal", web: bool = False) -> LLMRequest:
    return LLMRequest(
        role="subagent",
        model=MODEL,
        system=system,
        messages=(Message("user", content),),
        max_tokens=512,
        web=WebTools(max_uses=3) if web else None,
    )


def reply(text: str = "answer") -> LLMReply:
    return LLMReply(
        text=text,
        usage=Usage(10, 20, cache_creation_input_tokens=3, cache_read_input_tokens=4),
        model=MODEL,
        stop_reason="end_turn",
        searches=2,
    )


@given(st.text(min_size=1), st.text(min_size=1))
def test_request_and_reply_attributes_hold_no_content(system: str, text: str) -> None:
    marked = f"\x00{system}|{text}\x00"  # no model, id or kind contains a NUL
    attributes = {
        **request_attributes(request(marked, marked)),
        **reply_attributes(reply(marked)),
    }
    assert not any(marked in str(value) for value in attributes.values())


def test_reply_attributes_count_every_input_token_cached_ones_too() -> None:
    attributes = reply_attributes(reply())
    assert attributes["gen_ai.usage.input_tokens"] == 10 + 3 + 4
    assert attributes["gen_ai.usage.output_tokens"] == 20
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] == 3
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 4
    assert attributes["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attributes["orchestra.web_search.requests"] == 2


def test_request_attributes_name_the_operation_provider_model_and_web_search() -> None:
    attributes = request_attributes(request(web=True))
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["orchestra.web_search.max_uses"] == 3


@given(st.text(), st.text(), st.text())
def test_content_attributes_round_trip_any_text_as_the_conventions_shape_it(
    system: str, text: str, answer: str
) -> None:
    attributes = content_attributes(request(system, text))
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [
        {"type": "text", "content": system}
    ]
    (message,) = json.loads(str(attributes["gen_ai.input.messages"]))
    assert message == {"role": "user", "parts": [{"type": "text", "content": text}]}
    (output,) = json.loads(str(output_attributes(reply(answer))["gen_ai.output.messages"]))
    assert output["parts"] == [{"type": "text", "content": answer}]
    assert output["finish_reason"] == "end_turn"


async def test_a_call_is_one_chat_span_without_content_and_is_measured(
    recorded: Recorded,
) -> None:
    inner = FunctionLLM(lambda req: reply("secret answer"))
    traced = TracedLLM(inner, recorded.telemetry, PipelineConfig())
    await traced.complete(request(content="secret goal"))
    (span,) = recorded.finished()
    assert span.name == f"chat {MODEL}"
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.output_tokens"] == 20
    assert not any("secret" in str(v) for v in span.attributes.values())
    assert recorded.total("gen_ai.client.operation.duration") == 1  # one measurement
    tokens = dict(
        (str(a["gen_ai.token.type"]), v) for a, v in recorded.points("gen_ai.client.token.usage")
    )
    assert tokens == {"input": 1, "output": 1}  # one input, one output measurement


async def test_with_capture_on_the_call_s_content_is_on_its_span(recorded: Recorded) -> None:
    recorded.telemetry.capture_content = True
    traced = TracedLLM(
        FunctionLLM(lambda req: reply("secret answer")), recorded.telemetry, PipelineConfig()
    )
    await traced.complete(request(content="secret goal"))
    (span,) = recorded.finished()
    assert span.attributes is not None
    assert "secret goal" in str(span.attributes["gen_ai.input.messages"])
    assert "secret answer" in str(span.attributes["gen_ai.output.messages"])


async def test_a_failed_call_says_its_kind_never_its_text(recorded: Recorded) -> None:
    def refuse(req: LLMRequest) -> LLMReply:
        raise LLMError(
            "invalid_request: the prompt 'secret goal' is too long",
            kind="bad_request",
            retryable=False,
        )

    traced = TracedLLM(FunctionLLM(refuse), recorded.telemetry, PipelineConfig())
    with pytest.raises(LLMError):
        await traced.complete(request(content="secret goal"))
    (span,) = recorded.finished()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "bad_request"
    assert "secret" not in str(span.status.description)
    assert not span.events  # no exception event: its text may quote the request
    ((attributes, _),) = recorded.points("gen_ai.client.operation.duration")
    assert attributes["error.type"] == "bad_request"
