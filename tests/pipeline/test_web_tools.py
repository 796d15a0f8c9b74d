"""Web search and fetch through the real SDK against the fake; the fake's shapes checked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import anthropic
import pydantic
import pytest

from pipeline import (
    NO_BUDGET,
    Budget,
    BudgetExceeded,
    LLMRequest,
    Message,
    PipelineConfig,
    Reservation,
    run_pipeline,
)
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.budget import SEARCH_RESULT_TOKENS, worst_case_usd
from pipeline.config import ModelPrice
from pipeline.context import MAX_CONTINUATIONS, RunContext, why_cut
from pipeline.events import SubtaskFinished, discard
from pipeline.llm import Source, Usage, WebTools
from pipeline.models import SubTask
from pipeline.planner import plan_schema
from pipeline.testing import simple_plan
from pipeline.usage import cost_of
from sandbox.fakes.claude import (
    EXAMPLE_RESULTS,
    CallInfo,
    Citation,
    FakeAnthropic,
    Fetch,
    Reply,
    Search,
)
from tests.pipeline.conftest import Recorder

SEARCH_ERRORS = ["max_uses_exceeded", "too_many_requests", "query_too_long", "unavailable"]
SEARCH_ERRORS += ["invalid_tool_input"]

CITED = Reply(
    text="Findings. ",
    searches=[Search(query="first"), Search(query="second")],
    citations=[
        Citation(" One claim.", cited_text="quoted one"),
        Citation(" Same page again.", cited_text="quoted again"),
        Citation(" Other claim.", url=EXAMPLE_RESULTS[1][0], title=EXAMPLE_RESULTS[1][1]),
    ],
)


@pytest.fixture
async def fake_claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
async def llm(fake_claude: FakeAnthropic) -> AsyncIterator[AnthropicLLM]:
    client = make_client(fake_claude.api_key, fake_claude.base_url, timeout_s=5)
    yield AnthropicLLM(client)
    await client.close()


DEFAULT_WEB = WebTools()


def request(web: WebTools | None = DEFAULT_WEB) -> LLMRequest:
    return LLMRequest(
        role="subagent",
        model="claude-haiku-4-5",
        system="You research things.",
        messages=(Message("user", "what happened last month?"),),
        max_tokens=500,
        web=web,
    )


async def collect(deltas: list[str], delta: str) -> None:
    deltas.append(delta)


def role_of(streamed: bool) -> str:
    """The role the fake gives a call: a streamed one is the integrator's, as in a run."""
    return "integrator" if streamed else "subagent"


@pytest.mark.parametrize("streamed", [False, True])
async def test_searches_and_citations_become_sources(
    llm: AnthropicLLM, fake_claude: FakeAnthropic, streamed: bool
) -> None:
    fake_claude.respond(role_of(streamed), lambda c: CITED)
    deltas: list[str] = []

    async def on_text(delta: str) -> None:
        await collect(deltas, delta)

    reply = await llm.complete(request(), on_text if streamed else None)
    assert reply.text == "Findings.  One claim. Same page again. Other claim."
    assert reply.sources == (
        Source(EXAMPLE_RESULTS[0][0], EXAMPLE_RESULTS[0][1], "quoted one"),
        Source(
            EXAMPLE_RESULTS[1][0], EXAMPLE_RESULTS[1][1], "Placeholder text quoted from the source."
        ),
    )
    assert reply.searches == 2
    assert reply.usage.web_search_requests == 2
    assert reply.search_errors == ()
    assert reply.stop_reason == "end_turn"
    if streamed:
        assert "".join(deltas) == reply.text
        assert fake_claude.calls[0].streamed


async def test_web_tools_are_sent_with_their_limits(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    await llm.complete(request(WebTools(max_uses=3, allowed_domains=("example.com",))))
    tools = fake_claude.calls[0].body["tools"]
    assert tools == [
        {
            "type": "web_search_20250305",
            "name": "web_search",
            "max_uses": 3,
            "allowed_domains": ["example.com"],
        },
        {
            "type": "web_fetch_20250910",
            "name": "web_fetch",
            "max_uses": 3,
            "citations": {"enabled": True},
            "max_content_tokens": 10_000,
            "allowed_domains": ["example.com"],
        },
    ]


async def test_blocked_domains_are_sent_and_fetch_can_be_left_out(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    await llm.complete(request(WebTools(blocked_domains=("bad.example",), fetch=False)))
    (search,) = fake_claude.calls[0].body["tools"]
    assert search["blocked_domains"] == ["bad.example"]
    assert "allowed_domains" not in search


async def test_no_tools_without_web(llm: AnthropicLLM, fake_claude: FakeAnthropic) -> None:
    await llm.complete(request(web=None))
    assert "tools" not in fake_claude.calls[0].body


def test_both_domain_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        WebTools(allowed_domains=("a.example",), blocked_domains=("b.example",))


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("code", SEARCH_ERRORS)
async def test_a_search_error_is_reported_not_raised(
    llm: AnthropicLLM, fake_claude: FakeAnthropic, code: str, streamed: bool
) -> None:
    fake_claude.respond(role_of(streamed), lambda c: Reply(text="From memory.", search_error=code))

    async def on_text(delta: str) -> None:
        pass

    reply = await llm.complete(request(), on_text if streamed else None)
    assert reply.text == "From memory."
    assert reply.search_errors == (code,)
    assert reply.searches == 0  # a failed search is not billed
    assert reply.sources == ()


@pytest.mark.parametrize("streamed", [False, True])
async def test_fetched_pages_are_cited_and_fetch_errors_reported(
    llm: AnthropicLLM, fake_claude: FakeAnthropic, streamed: bool
) -> None:
    page = Fetch(url="https://example.com/page", title="Placeholder page (example.com)")
    fake_claude.respond(
        role_of(streamed),
        lambda c: Reply(
            fetches=[Fetch(url="https://example.com/gone", error="url_not_accessible"), page],
            citations=[Citation("It says so.", title=page.title, cited_text="so", fetched=0)],
        ),
    )

    async def on_text(delta: str) -> None:
        pass

    reply = await llm.complete(request(), on_text if streamed else None)
    assert reply.text == "It says so."
    assert reply.sources == (Source(page.url, page.title, "so"),)
    assert reply.search_errors == ("fetch:url_not_accessible",)
    assert reply.searches == 0


def paused_then_done(call: CallInfo) -> Reply:
    if call.index == 0:
        return Reply(searches=[Search(query="first")], pause_turn=True)
    return Reply(
        text="Done.",
        searches=[Search(query="second")],
        citations=[Citation(" Cited.", cited_text="c")],
    )


def run_context(llm: AnthropicLLM, budget: Budget = NO_BUDGET) -> RunContext:
    return RunContext("run1", llm, config(), discard, budget=budget)


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_paused_turn_is_continued_with_its_content(
    llm: AnthropicLLM, fake_claude: FakeAnthropic, streamed: bool
) -> None:
    fake_claude.respond(role_of(streamed), paused_then_done)
    deltas: list[str] = []

    async def on_text(delta: str) -> None:
        await collect(deltas, delta)

    # The adapter makes one request; continuing is the caller's (budgeted) decision.
    paused = await llm.complete(request(), on_text if streamed else None)
    assert paused.stop_reason == "pause_turn"
    assert paused.paused is not None
    fake_claude.calls.clear()
    deltas.clear()
    reply = await run_context(llm).call(request(), on_text=on_text if streamed else None)
    first, second = fake_claude.calls
    assert reply.text == "Done. Cited."
    assert reply.searches == 2
    assert first.usage is not None
    assert second.usage is not None
    assert reply.usage.input_tokens == first.usage.input_tokens + second.usage.input_tokens
    assert reply.usage.output_tokens == first.usage.output_tokens + second.usage.output_tokens
    assert reply.stop_reason == "end_turn"
    # The continuation resends the paused content, unchanged, as the last (assistant) turn.
    paused = second.body["messages"][-1]
    assert paused["role"] == "assistant"
    assert [b["type"] for b in paused["content"]] == ["server_tool_use", "web_search_tool_result"]
    assert paused["content"][1]["content"][0]["encrypted_content"] == "placeholder-encrypted-0"
    assert second.body["tools"] == first.body["tools"]
    if streamed:
        assert "".join(deltas) == "Done. Cited."


async def test_continuations_are_bounded(llm: AnthropicLLM, fake_claude: FakeAnthropic) -> None:
    fake_claude.respond("subagent", lambda c: Reply(searches=[Search()], pause_turn=True))
    reply = await run_context(llm).call(request())
    assert len(fake_claude.calls) == 1 + MAX_CONTINUATIONS
    assert reply.stop_reason == "pause_turn"
    assert reply.searches == 1 + MAX_CONTINUATIONS
    assert why_cut(reply, 500) == (
        f"it was still searching the web after {MAX_CONTINUATIONS} continuations"
    )


# What the API bills (the fake is taught it): `max_uses` per request, and fetched pages as
# input tokens up to `max_content_tokens`.

BIG_PAGE = Fetch(url="https://example.com/big", text="word " * 100_000)  # ~125,000 tokens


async def test_the_fake_honours_max_uses_per_request_and_bills_what_it_read(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    sixty = Reply(text="Read a lot.", searches=[Search(tokens=1_000)] * 60, fetches=[BIG_PAGE] * 60)
    fake_claude.respond("subagent", lambda c: sixty)
    reply = await llm.complete(request(WebTools(max_uses=5, max_content_tokens=2_000)))
    assert reply.searches == reply.usage.web_search_requests == 5
    assert reply.search_errors == ("max_uses_exceeded", "fetch:max_uses_exceeded")
    (call,) = fake_claude.calls
    assert call.usage is not None
    sent = len(json.dumps(call.body)) // 4
    # Five searches' results and five pages, each cut to 2,000 tokens, are input.
    assert call.usage.input_tokens == sent + 5 * 1_000 + 5 * 2_000
    fetched = [
        b["content"]["content"]["source"]["data"]
        for b in (await raw_message(fake_claude, call.body))["content"]
        if b["type"] == "web_fetch_tool_result" and b["content"]["type"] == "web_fetch_result"
    ]
    assert [len(text) for text in fetched] == [2_000 * 4] * 5


async def raw_message(fake: FakeAnthropic, body: dict[str, Any]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fake.base_url}/v1/messages", json=body, headers={"x-api-key": fake.api_key}
        ) as response,
    ):
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        return answer


class Holds:
    """An outer budget that records every hold and its settlement, refusing past `limit`."""

    def __init__(self, limit: float) -> None:
        self.limit, self.used = limit, 0.0
        self.held: list[float] = []
        self.settled: list[float] = []

    async def reserve(self, usd: float) -> Reservation:
        if self.used + usd > self.limit:
            raise BudgetExceeded(f"This run stopped: {REFUSED}.", why=REFUSED)
        self.used += usd
        self.held.append(usd)
        return _Settle(self, usd)


class _Settle:
    def __init__(self, holds: Holds, usd: float) -> None:
        self.holds, self.usd = holds, usd

    async def settle(self, actual_usd: float) -> None:
        self.holds.used += actual_usd - self.usd
        self.holds.settled.append(actual_usd)


REFUSED = "the test budget has no room left"


async def test_every_continuation_holds_its_own_worst_case_and_settles_to_its_cost(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    paused = Reply(text="So far. ", searches=[Search()] * 60, fetches=[BIG_PAGE] * 60)
    fake_claude.respond("subagent", lambda c: replace(paused, pause_turn=c.index < 2))
    holds = Holds(limit=10.0)
    web = WebTools(max_uses=5, max_content_tokens=2_000)
    reply = await run_context(llm, holds).call(request(web))
    assert len(fake_claude.calls) == 3
    assert reply.text == "So far. " * 3
    assert reply.searches == 15  # five per request
    cfg = config()
    assert holds.held[0] == pytest.approx(worst_case_usd(request(web), cfg))
    # Each continuation sends the turn so far back: it holds more than the one before.
    assert holds.held[0] < holds.held[1] < holds.held[2]
    costs = [
        cost_of(
            Usage(u.input_tokens, u.output_tokens, web_search_requests=5), "claude-haiku-4-5", cfg
        )
        or 0.0
        for u in (c.usage for c in fake_claude.calls)
        if u is not None
    ]
    assert holds.settled == pytest.approx(costs)
    assert all(cost <= held for cost, held in zip(costs, holds.held, strict=True))
    assert holds.used == pytest.approx(sum(costs))


async def test_a_continuation_that_does_not_fit_is_not_sent_and_the_turn_keeps_what_it_has(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    cfg = config()
    web = WebTools(max_uses=5, max_content_tokens=2_000)
    first = worst_case_usd(request(web), cfg)
    assert first is not None
    paused = Reply(
        text="Found one thing.",
        searches=[Search()] * 60,
        citations=[Citation(" Cited.", cited_text="c")],
        pause_turn=True,
    )
    fake_claude.respond("subagent", lambda c: paused)
    # The first request fits; what it leaves once settled cannot hold a continuation, which
    # holds more than the first (the turn so far is sent back).
    holds = Holds(limit=first * 1.01)
    reply = await run_context(llm, holds).call(request(web))
    assert len(fake_claude.calls) == 1
    assert reply.text == "Found one thing. Cited."
    assert [s.url for s in reply.sources] == [EXAMPLE_RESULTS[0][0]]
    assert reply.stopped == REFUSED
    assert why_cut(reply, 500) == f"its web research stopped there, as {REFUSED}"
    assert len(holds.settled) == 1


# The fake's shapes, parsed by the SDK's own types.


async def raw(fake: FakeAnthropic, stream: bool) -> str:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fake.base_url}/v1/messages", json=body, headers={"x-api-key": fake.api_key}
        ) as response,
    ):
        assert response.status == 200
        return await response.text()


SHAPES = [
    CITED,
    Reply(text="From memory.", search_error="unavailable"),
    Reply(searches=[Search()], pause_turn=True),
    Reply(
        fetches=[Fetch(), Fetch(error="url_not_accessible")],
        citations=[Citation("Fetched.", fetched=0)],
    ),
]


@pytest.mark.parametrize("shape", SHAPES)
async def test_the_fakes_json_parses_as_an_sdk_message(
    fake_claude: FakeAnthropic, shape: Reply
) -> None:
    fake_claude.respond("subagent", lambda c: shape)
    message = anthropic.types.Message.model_validate(json.loads(await raw(fake_claude, False)))
    types = [block.type for block in message.content]
    assert types.count("server_tool_use") == len(shape.all_searches) + len(shape.fetches)
    assert message.stop_reason == ("pause_turn" if shape.pause_turn else "end_turn")
    assert message.usage.server_tool_use is not None


@pytest.mark.parametrize("shape", SHAPES)
async def test_the_fakes_sse_parses_as_sdk_stream_events(
    fake_claude: FakeAnthropic, shape: Reply
) -> None:
    # The streamed calls are the integrator's to the fake; the JSON one below, a subagent's.
    for role in ("integrator", "subagent"):
        fake_claude.respond(role, lambda c: shape)
    events: list[Any] = []
    for chunk in (await raw(fake_claude, True)).strip().split("\n\n"):
        data = chunk.split("data: ", 1)[1]
        if json.loads(data)["type"] == "ping":  # not a RawMessageStreamEvent; the SDK skips it
            continue
        events.append(
            pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent).validate_json(data)
        )
    kinds = {e.delta.type for e in events if e.type == "content_block_delta"}
    if shape.citations:
        assert "citations_delta" in kinds
    if shape.all_searches:
        assert "input_json_delta" in kinds
    # And the SDK's accumulator builds the same message the JSON form carries.
    client = anthropic.AsyncAnthropic(
        api_key=fake_claude.api_key, base_url=fake_claude.base_url, max_retries=0
    )
    async with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        streamed = await stream.get_final_message()
    await client.close()
    whole = anthropic.types.Message.model_validate(json.loads(await raw(fake_claude, False)))
    assert _same_but_ids(streamed, whole)
    assert streamed.usage.server_tool_use == whole.usage.server_tool_use
    assert streamed.stop_reason == whole.stop_reason


def _same_but_ids(a: anthropic.types.Message, b: anthropic.types.Message) -> bool:
    def strip(message: anthropic.types.Message) -> list[dict[str, object]]:
        blocks = [block.to_dict() for block in message.content]
        for block in blocks:
            block.pop("id", None)
            block.pop("tool_use_id", None)
        return blocks

    return strip(a) == strip(b)


# Through the pipeline: the plan decides, the configuration allows, usage and cost add up.


def web_plan() -> dict[str, Any]:
    return simple_plan("goal", 3, needs_web={"s1", "s3"})


def config(**changes: Any) -> PipelineConfig:
    base = PipelineConfig(retry_initial_wait_s=0.01, retry_max_wait_s=0.05, call_timeout_s=5)
    return PipelineConfig.model_validate({**base.model_dump(), **changes})


def subagent_call(fake: FakeAnthropic, aspect: int) -> dict[str, Any]:
    return next(
        c.body
        for c in fake.calls_for("subagent")
        if f"Describe aspect {aspect}." in c.body["messages"][0]["content"]
    )


def researched(call: CallInfo) -> Reply:
    if "aspect 2" in call.user_text:
        return Reply(text="Reasoned without the web.")
    if "aspect 3" in call.user_text:
        return Reply(text="From memory.", search_error="unavailable")
    return CITED


async def test_only_subtasks_that_need_the_web_get_web_tools(
    llm: AnthropicLLM, fake_claude: FakeAnthropic, recorder: Recorder
) -> None:
    fake_claude.respond_plan(web_plan())
    fake_claude.respond("subagent", researched)
    cfg = config(web_search_max_uses=2, web_blocked_domains=("bad.example",))
    result = await run_pipeline("goal", llm=llm, config=cfg, sink=recorder)
    assert result.status == "succeeded"
    search, fetch = subagent_call(fake_claude, 1)["tools"]
    assert (search["max_uses"], search["blocked_domains"]) == (2, ["bad.example"])
    assert fetch["type"] == "web_fetch_20250910"
    assert "tools" not in subagent_call(fake_claude, 2)
    assert "tools" in subagent_call(fake_claude, 3)
    assert "tools" not in fake_claude.calls_for("integrator")[0].body

    s1, s2, s3 = (result.outcomes[i] for i in ("s1", "s2", "s3"))
    assert [s.url for s in s1.sources] == [url for url, _ in EXAMPLE_RESULTS]
    assert (s1.searches, s1.search_errors) == (2, ())
    assert (s2.sources, s2.searches) == ((), 0)
    assert (s3.sources, s3.searches, s3.search_errors) == ((), 0, ("unavailable",))
    assert result.sources == s1.sources  # numbered: [1] is sources[0]
    assert result.searches == 2
    finished = {e.subtask_id: e for e in recorder.events if isinstance(e, SubtaskFinished)}
    assert finished["s1"].sources == s1.sources
    assert finished["s3"].search_errors == ("unavailable",)


async def test_web_search_off_sends_no_tools(llm: AnthropicLLM, fake_claude: FakeAnthropic) -> None:
    fake_claude.respond_plan(web_plan())
    result = await run_pipeline("goal", llm=llm, config=config(web_search=False))
    assert result.status == "succeeded"
    assert all("tools" not in c.body for c in fake_claude.calls)


async def test_usage_and_cost_include_the_searches_exactly(
    llm: AnthropicLLM, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(web_plan())
    fake_claude.respond("subagent", researched)
    cfg = config()
    result = await run_pipeline("goal", llm=llm, config=cfg)
    reported = fake_claude.total_usage()
    assert reported.web_search_requests == 2
    assert result.usage.web_search_requests == 2
    assert result.usage_by_role["subagent"].web_search_requests == 2
    assert result.outcomes["s1"].usage.web_search_requests == 2
    tokens = {
        role: cost_of(replace(usage, web_search_requests=0), cfg.model_for(role), cfg)
        for role, usage in result.usage_by_role.items()
    }
    assert result.cost_usd == pytest.approx(sum(t for t in tokens.values() if t) + 2 * 10 / 1000)


def test_the_search_price_is_per_model_and_overridable() -> None:
    cfg = config(prices={"claude-haiku-4-5": ModelPrice(input=1, output=5, web_search_per_1000=20)})
    searches = Usage(web_search_requests=3)
    assert cost_of(searches, "claude-haiku-4-5", cfg) == pytest.approx(0.06)
    assert cost_of(searches, "claude-sonnet-4-6", cfg) == pytest.approx(0.03)


def test_the_plan_schema_offers_needs_web_defaulting_to_false() -> None:
    schema = plan_schema()
    subtask = next(iter(schema["$defs"].values()))
    assert subtask["properties"]["needs_web"]["type"] == "boolean"
    assert SubTask.model_validate(simple_plan("goal", 2)["subtasks"][0]).needs_web is False


def test_a_web_request_reserves_its_searches_their_results_and_its_fetched_pages() -> None:
    cfg = config()
    plain = worst_case_usd(request(web=None), cfg)
    web = worst_case_usd(request(WebTools(max_uses=4, max_content_tokens=2_000)), cfg)
    no_fetch = worst_case_usd(request(WebTools(max_uses=4, fetch=False)), cfg)
    assert plain is not None
    assert web is not None
    assert no_fetch is not None
    # Haiku: $1 per million input tokens, held at the cache-write price (1.25x).
    read = 4 * SEARCH_RESULT_TOKENS * 1.25 / 1_000_000
    assert no_fetch - plain == pytest.approx(4 * 10 / 1000 + read)
    assert web - no_fetch == pytest.approx(4 * 2_000 * 1.25 / 1_000_000)
