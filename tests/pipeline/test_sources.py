"""Sources flow to the answer: numbered once per run, given to the integrator, listed after."""

from __future__ import annotations

import json
import re
import urllib.parse

from hypothesis import given
from hypothesis import strategies as st

from pipeline import PipelineConfig, RunResult, SubtaskOutcome, Usage, run_pipeline
from pipeline.llm import LLMReply, LLMRequest, Source
from pipeline.models import Plan
from pipeline.sources import SOURCES_HEADING, sources_markdown, with_sources
from pipeline.summary import footer_parts, web_note
from pipeline.testing import FunctionLLM, simple_plan

A = Source("https://a.example/1", "Alpha report", "alpha says")
B = Source("https://b.example/2", "Beta [draft]", "beta says")
C = Source("https://c.example/3", "", "")
SOURCES = {"s1": (A, B), "s2": (), "s3": (B, C)}


def _reply(request: LLMRequest) -> LLMReply | str:
    if request.role == "orchestrator":
        return json.dumps(simple_plan("goal", 3))
    if request.role == "subagent":
        own = SOURCES[request.label]
        return LLMReply(
            f"Result {request.label}.",
            Usage(10, 5, web_search_requests=len(own)),
            request.model,
            "end_turn",
            sources=own,
            searches=len(own),
        )
    return "Answer citing [1] and [3]."


async def test_the_integrator_gets_the_runs_numbering() -> None:
    llm = FunctionLLM(_reply)
    result = await run_pipeline("goal", llm=llm, config=PipelineConfig())
    assert result.sources == (A, B, C)  # plan order, each URL once: B is [2] for s1 and s3
    prompt = llm.requests_for("integrator")[0].messages[0].content
    listed = prompt.split("<sources>\n", 1)[1].split("\n</sources>", 1)[0]
    assert re.findall(r"^\[(\d)\] ([^\n<]*) <([^>]*)>", listed, re.MULTILINE) == [
        ("1", "Alpha report", A.url),
        ("2", "Beta [draft]", B.url),
        ("3", C.url, C.url),  # no title: the URL names it
    ]
    assert "quoted: alpha says" in listed
    roles = re.findall(r'<result role="[^"]*"( sources="[^"]*")?>', prompt)
    assert roles == [' sources="1,2"', "", ' sources="2,3"']
    assert "[n]" in llm.requests_for("integrator")[0].system


async def test_a_run_without_sources_sends_no_sources_section() -> None:
    llm = FunctionLLM(
        lambda r: json.dumps(simple_plan("goal", 2)) if r.role == "orchestrator" else "x."
    )
    result = await run_pipeline("goal", llm=llm, config=PipelineConfig())
    assert result.sources == ()
    assert "<sources>" not in llm.requests_for("integrator")[0].messages[0].content
    assert with_sources("x.", result.sources) == "x."


_URLS = st.builds(
    lambda host, path: f"https://{host}.example/{path}",
    st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    st.text(max_size=40),
)
_SOURCE_LISTS = st.lists(
    st.builds(Source, _URLS, st.text(max_size=300), st.text(max_size=50)),
    max_size=30,
    unique_by=lambda s: s.url,
)


@given(_SOURCE_LISTS)
def test_the_sources_list_numbers_every_source_once(sources: list[Source]) -> None:
    listed = sources_markdown(sources)
    if not sources:
        assert listed == ""
        return
    heading, *lines = listed.split("\n")
    assert heading == SOURCES_HEADING
    assert len(lines) == len(sources)  # a title cannot add lines or hide an entry
    for n, (line, source) in enumerate(zip(lines, sources, strict=True), start=1):
        assert line.startswith(f"{n}. [")
        # The destination is the URL, with what would end a link early percent-encoded.
        dest = line.rsplit("](", 1)[1][:-1]
        assert re.search(r"[()<>\s]", dest) is None
        assert urllib.parse.unquote(dest) == urllib.parse.unquote(source.url)


def test_the_footer_shows_searches_and_their_cost() -> None:
    plan = Plan.model_validate(simple_plan("goal", 2))
    outcomes = {
        "s1": SubtaskOutcome("s1", "done", "x", searches=3),
        "s2": SubtaskOutcome("s2", "done", "y"),
    }
    result = RunResult(
        "r",
        "goal",
        "succeeded",
        plan,
        outcomes,
        "a",
        {},
        Usage(1000, 200, web_search_requests=3),
        0.0412,
        2.0,
        search_cost_usd=0.03,
    )
    assert footer_parts(result) == [
        "2.0s",
        "2/2 subtasks done",
        "1,000 tokens in / 200 out",
        "3 web searches ($0.0300)",
        "≈ $0.0412",
    ]
    no_web = RunResult("r", "goal", "succeeded", plan, outcomes, "a", {}, Usage(1, 1), 0.5, 1.0)
    assert not any("search" in p for p in footer_parts(no_web))


def test_the_web_note_says_what_the_web_gave() -> None:
    assert web_note(0, 0, ()) == ""
    assert web_note(3, 5, ()) == "3 searches · 5 sources"
    assert web_note(1, 1, ()) == "1 search · 1 source"
    assert (
        web_note(0, 0, ("unavailable",)) == "0 sources · search unavailable, answered from memory"
    )
    assert web_note(2, 1, ("too_many_requests", "fetch:url_not_accessible")) == (
        "2 searches · 1 source · search rate-limited; a page could not be read"
    )
