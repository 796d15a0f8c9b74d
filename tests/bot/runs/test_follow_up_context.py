"""The context a follow-up run plans with (issue 23.3): the previous answer and its sources,
within the orchestrator's context size, the answer's start kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.runs.follow_up import follow_up_context
from pipeline import Source

SOURCES = [Source(url="https://a.example/x", title="A page"), Source(url="https://b.example/")]


def test_the_answer_and_its_numbered_sources() -> None:
    text = follow_up_context("The answer [1][2].", SOURCES, 8000)
    assert "The answer [1][2]." in text
    assert "[1] A page — https://a.example/x" in text
    assert "[2] https://b.example/ — https://b.example/" in text


def test_a_long_answer_is_cut_and_says_so_its_sources_kept() -> None:
    text = follow_up_context("word " * 10_000, SOURCES, 2000)
    assert len(text) <= 2000
    assert "left out" in text
    assert "https://b.example/" in text


@given(st.text(max_size=5000), st.integers(min_value=0, max_value=4000))
def test_never_longer_than_asked(answer: str, max_chars: int) -> None:
    assert len(follow_up_context(answer, SOURCES, max_chars)) <= max_chars
