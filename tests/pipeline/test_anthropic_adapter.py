"""Tier 2: the Anthropic adapter through the real SDK against the loopback fake."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from pipeline import LLMError, LLMRequest, Message, PipelineConfig, run_pipeline
from pipeline.anthropic_llm import AnthropicLLM, make_client, parse_retry_after
from pipeline.planner import plan_schema
from pipeline.testing import simple_plan
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply, Usage


@pytest.fixture
async def fake_claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
async def llm(fake_claude: FakeAnthropic) -> AsyncIterator[AnthropicLLM]:
    client = make_client(fake_claude.api_key, fake_claude.base_url, timeout_s=5)
    yield AnthropicLLM(client)
    await client.close()


def request(role: str = "subagent", schema: bool = False) -> LLMRequest:
    return LLMRequest(
        role=role,  # type: ignore[arg-type]
        model="claude-haiku-4-5",
        system="You research things.",
        messages=(Message("user", "hello"),),
        max_tokens=100,
        json_schema=plan_schema() if schema else None,
    )


async def test_json_reply_and_usage(llm: AnthropicLLM, fake_claude: FakeAnthropic) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="hi there", usage=Usage(11, 7, 3, 2)))
    reply = await llm.complete(request())
    assert reply.text == "hi there"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (11, 7)
    assert (reply.usage.cache_creation_input_tokens, reply.usage.cache_read_input_tokens) == (3, 2)
    body = fake_claude.calls[0].body
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}


async def test_structured_output_sends_the_schema(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    reply = await llm.complete(request("orchestrator", schema=True))
    assert json.loads(reply.text)["subtasks"]
    fmt = fake_claude.calls[0].body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    assert "subtasks" in fmt["schema"]["properties"]


async def test_streaming_delivers_chunks_and_final_usage(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    text = "streamed words " * 20
    # Streamed, the call is the integrator's to the fake (as in a run).
    fake_claude.respond("integrator", lambda c: Reply(text=text, usage=Usage(5, 60)))
    deltas: list[str] = []

    async def on_text(delta: str) -> None:
        deltas.append(delta)

    reply = await llm.complete(request(), on_text)
    assert len(deltas) > 5
    assert "".join(deltas) == text == reply.text
    assert reply.usage.output_tokens == 60


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (401, "auth", False),
        (403, "permission", False),
        (400, "bad_request", False),
        (404, "not_found", False),
        (413, "too_large", False),
        (429, "rate_limited", True),
        (529, "overloaded", True),
        (500, "server", True),
    ],
)
async def test_status_errors_translate(
    llm: AnthropicLLM, fake_claude: FakeAnthropic, status: int, kind: str, retryable: bool
) -> None:
    fake_claude.inject(Fault(status=status, retry_after=2 if retryable else None))
    with pytest.raises(LLMError) as caught:
        await llm.complete(request())
    assert caught.value.kind == kind
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == (2.0 if retryable else None)
    assert len(fake_claude.calls) == 1  # the SDK did not retry on its own


async def test_wrong_key_reads_as_invalid_key(fake_claude: FakeAnthropic) -> None:
    client = make_client("sk-wrong", fake_claude.base_url, 5)
    with pytest.raises(LLMError, match="rejected the API key"):
        await AnthropicLLM(client).complete(request())
    await client.close()


async def test_reset_and_truncated_stream_are_transient(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(reset=True))
    with pytest.raises(LLMError) as reset:
        await llm.complete(request())
    assert reset.value.retryable

    async def ignore(delta: str) -> None:
        pass

    fake_claude.respond("integrator", lambda c: Reply(text="x" * 200))
    fake_claude.inject(Fault(truncate_stream=True))
    with pytest.raises(LLMError) as cut:
        await llm.complete(request(), ignore)
    assert cut.value.retryable
    fake_claude.inject(Fault(error_event=True))
    with pytest.raises(LLMError) as event:
        await llm.complete(request(), ignore)
    assert event.value.retryable


def test_parse_retry_after_variants() -> None:
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


# --- whole runs through the real SDK and the fake ---------------------------------------


def fast_config(**changes: object) -> PipelineConfig:
    base = PipelineConfig(retry_initial_wait_s=0.01, retry_max_wait_s=2, call_timeout_s=5)
    return base.model_copy(update=changes)


async def test_four_independent_subtasks_overlap(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(simple_plan("goal", 4))
    fake_claude.respond("subagent", lambda c: Reply(text="done", latency=0.5))
    started = time.monotonic()
    result = await run_pipeline("goal", llm=llm, config=fast_config())
    subagents = fake_claude.calls_for("subagent")
    assert result.status == "succeeded"
    assert fake_claude.max_concurrency("subagent") == 4
    span = max(c.finished_at for c in subagents) - min(c.started_at for c in subagents)
    assert span < 2 * 0.5
    assert time.monotonic() - started < 2.0


async def test_dependent_gets_its_dependency_output(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(simple_plan("goal", 3, depends={"s3": ["s1"]}))
    fake_claude.respond(
        "subagent",
        lambda c: Reply(text="OUTPUT-OF-S1" if "aspect 1" in c.user_text else "other", latency=0.1),
    )
    result = await run_pipeline("goal", llm=llm, config=fast_config())
    assert result.status == "succeeded"
    s3 = next(
        c
        for c in fake_claude.calls_for("subagent")
        if "aspect 3" in c.body["messages"][0]["content"]
    )
    s1 = next(
        c
        for c in fake_claude.calls_for("subagent")
        if "Describe aspect 1" in c.body["messages"][0]["content"] and c is not s3
    )
    assert "OUTPUT-OF-S1" in s3.body["messages"][0]["content"]
    assert s3.started_at >= s1.finished_at


async def test_429_with_retry_after_is_waited_out(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(role="subagent", status=429, retry_after=0.3))
    started = time.monotonic()
    result = await run_pipeline("goal", llm=llm, config=fast_config())
    assert result.status == "succeeded"
    assert len(fake_claude.calls_for("subagent")) == 4  # 3 + 1 retry
    assert time.monotonic() - started >= 0.3


async def test_failing_subtask_leaves_the_others_and_informs_the_integrator(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500))
    result = await run_pipeline("goal", llm=llm, config=fast_config(max_attempts=2))
    assert result.status == "partial"
    assert result.outcomes["s2"].status == "failed"
    assert result.done_count == 2
    integrator = fake_claude.calls_for("integrator")[0].body["messages"][0]["content"]
    assert "Researcher of aspect 2" in integrator
    assert "failed" in integrator


async def test_all_failing_means_no_integrator_call(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(role="subagent", times=None, status=529))
    result = await run_pipeline("goal", llm=llm, config=fast_config(max_attempts=2))
    assert result.status == "failed"
    assert "Every subtask failed" in result.error
    assert fake_claude.calls_for("integrator") == []


async def test_invalid_plan_repaired_once_then_clear_failure(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    bad = simple_plan("goal", 1)
    fake_claude.respond_plan(bad)
    result = await run_pipeline("goal", llm=llm, config=fast_config())
    assert result.error_kind == "PlanError"
    calls = fake_claude.calls_for("orchestrator")
    assert len(calls) == 2
    assert "a plan needs 2 to 5 subtasks, got 1" in calls[1].body["messages"][-1]["content"]


async def test_401_fails_at_once_as_an_invalid_key(fake_claude: FakeAnthropic) -> None:
    client = make_client("sk-wrong", fake_claude.base_url, 5)
    result = await run_pipeline("goal", llm=AnthropicLLM(client), config=fast_config())
    await client.close()
    assert "API key" in result.error
    assert len(fake_claude.calls) == 1


async def test_cancellation_stops_in_flight_calls(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="late", latency=30))
    task = asyncio.create_task(run_pipeline("goal", llm=llm, config=fast_config()))
    for _ in range(200):
        if len(fake_claude.calls_for("subagent")) == 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert all(c.finished_at > 0 for c in fake_claude.calls)  # the server saw them end


async def test_usage_and_cost_match_the_fake_exactly(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="r", usage=Usage(1000, 100, 200, 300)))
    fake_claude.respond("integrator", lambda c: Reply(text="answer", usage=Usage(5000, 700)))
    fake_claude.respond(
        "orchestrator", lambda c: Reply(json=simple_plan("goal", 3), usage=Usage(800, 400))
    )
    result = await run_pipeline("goal", llm=llm, config=fast_config())
    total = fake_claude.total_usage()
    assert result.usage.input_tokens == total.input_tokens == 800 + 3000 + 5000
    assert result.usage.output_tokens == total.output_tokens == 400 + 300 + 700
    assert result.usage.cache_creation_input_tokens == 600
    assert result.usage.cache_read_input_tokens == 900
    sonnet = (800 + 5000) * 3 + (400 + 700) * 15
    haiku = 3000 * 1 + 300 * 5 + 600 * 1.25 + 900 * 0.1
    assert result.cost_usd == pytest.approx((sonnet + haiku) / 1_000_000)
