"""Sources in Slack: the answer ends with them, every link shows its host, entries count them."""

from __future__ import annotations

import re
import urllib.parse

from hypothesis import example, given
from hypothesis import strategies as st

from bot.render import messages as blocks
from bot.render.plan import status_line
from pipeline import RunResult, Source, SubtaskOutcome, Usage
from pipeline.view import SubtaskView
from tests.bot.render.test_message_properties import FAST, a_plan, assert_acceptable
from tests.bot.render.test_text_properties import UNTRUSTED

_HOSTS = st.from_regex(r"[a-z][a-z0-9]{0,20}\.example", fullmatch=True)
_SOURCES = st.lists(
    st.builds(
        lambda host, path, title: Source(f"https://{host}/{path}", title),
        _HOSTS,
        st.text(alphabet="abc()[]<> |%/", max_size=20),
        UNTRUSTED,
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda s: s.url,
)


def _result(answer: str, sources: list[Source]) -> RunResult:
    plan = a_plan(["Researcher one", "Researcher two"], "the goal")
    outcomes = {
        "s0": SubtaskOutcome("s0", "done", "x", sources=tuple(sources), searches=2),
        "s1": SubtaskOutcome("s1", "done", "y"),
    }
    return RunResult("r1", "goal", "succeeded", plan, outcomes, answer, {}, Usage(5, 5), 0.1, 1.0)


@FAST
@given(answer=UNTRUSTED.filter(str.strip), sources=_SOURCES)
# A link from a fence's opening line into its code: rewriting it joined the lines, and the
# Sources list then stood inside a code block its rendering opened.
@example(
    answer='```[Open\nthe report](https://evil.example/x "multi\nline")```',
    sources=[Source("https://a.example/", "")],
)
def test_the_answer_ends_with_every_source_its_host_visible(
    answer: str, sources: list[Source]
) -> None:
    messages = blocks.answer_messages(_result(answer, sources))
    for message in messages:
        assert_acceptable(message)
    markdown = "\n".join(b["text"] for m in messages for b in m.blocks if b["type"] == "markdown")
    listed = markdown.rsplit("**Sources**\n", 1)[1]
    lines = listed.split("\n")
    assert len(lines) == len(sources)
    for n, (line, source) in enumerate(zip(lines, sources, strict=True), start=1):
        host = urllib.parse.urlsplit(source.url).hostname
        label, dest = re.fullmatch(rf"{n}\. \[(.*)\]\((\S+)\)", line, re.DOTALL).groups()  # type: ignore[union-attr]
        assert label.endswith(f"({host})") or label == host or host in label
        assert urllib.parse.unquote(dest) == urllib.parse.unquote(source.url)
    # The footer comes after the sources, and only the answer's buttons after it.
    assert [b["type"] for b in messages[-1].blocks[-2:]] == ["context", "actions"]


def test_an_answer_without_sources_has_no_sources_list() -> None:
    messages = blocks.answer_messages(_result("Plain answer.", []))
    assert "Sources" not in str(messages[-1].blocks)


def test_a_plan_entry_counts_searches_and_sources() -> None:
    sub = SubtaskView("s1", "role", state="done", elapsed_s=2.0, usage=Usage(10, 10))
    sub.searches, sub.sources = 3, tuple(Source(f"https://x.example/{i}") for i in range(5))
    assert status_line(sub) == "done in 2.0s · 20 tokens · 3 searches · 5 sources"
    sub.searches, sub.sources, sub.search_errors = 1, (), ("unavailable",)
    assert status_line(sub).endswith(
        "1 search · 0 sources · search unavailable, answered from memory"
    )
    plain = SubtaskView("s2", "role", state="done", elapsed_s=1.0, usage=Usage(1, 1))
    assert status_line(plain) == "done in 1.0s · 2 tokens"


def test_full_output_lists_the_subtasks_sources_with_hosts() -> None:
    sources = (Source("https://a.example/x", "Page A"), Source("https://b.example/(y)", ""))
    messages = blocks.output_messages("s1", "Researcher", "The output [1].", sources)
    text = str(messages[-1].blocks)
    assert "**Sources**" in text
    assert "[Page A (a.example)](https://a.example/x)" in text
    assert "(https://b.example/%28y%29)" in text
