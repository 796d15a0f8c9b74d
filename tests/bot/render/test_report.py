"""The report's pure parts: the answer's opening in the thread (at most 3,000 characters, cut
at a sentence, for any text), the canvas's title and markdown, the downloadable file."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.render.report import (
    canvas_title,
    opening,
    report_file,
    report_filename,
)
from bot.render.text import OPENING_CHARS
from pipeline import Source
from pipeline.markdown import fence_after

SENTENCE = st.from_regex(r"[A-Z][a-z ,]{0,80}[.!?]", fullmatch=True)


def test_a_short_answer_is_its_own_opening() -> None:
    assert opening("  One. Two.  ") == "One. Two."


def test_a_long_answer_is_cut_after_its_last_whole_sentence() -> None:
    text = "First sentence here. " * 100 + "x" * 4000
    cut = opening(text)
    assert len(cut) <= OPENING_CHARS
    assert cut.endswith("First sentence here.")


def test_an_open_code_block_is_closed_at_the_cut() -> None:
    text = "Intro. " * 10 + "\n```python\n" + "x = 1\n" * 1000
    cut = opening(text, 500)
    assert len(cut) <= 500
    assert fence_after(cut) is None


@given(st.text(max_size=8000), st.integers(min_value=1, max_value=4000))
def test_any_opening_fits_and_is_the_start_of_the_text(text: str, limit: int) -> None:
    cut = opening(text, limit)
    assert len(cut) <= limit
    body = cut
    if fence_after(text.strip()[: len(cut)]) is not None or not text.strip().startswith(cut):
        # A closing fence was added: what precedes it is the text's start.
        body = cut.rsplit("\n", 1)[0]
    assert text.strip().startswith(body.rstrip())


@given(st.lists(SENTENCE, min_size=1, max_size=200))
def test_prose_is_cut_at_a_sentence_end(sentences: list[str]) -> None:
    text = " ".join(sentences)
    cut = opening(text)
    assert len(cut) <= OPENING_CHARS
    if len(text) > OPENING_CHARS:
        assert re.search(r"[.!?]$", cut), cut[-40:]
    else:
        assert cut == text.strip()


def test_the_title_is_the_goal_on_one_line() -> None:
    assert canvas_title("compare\n  the   options") == "compare the options"
    assert canvas_title("   ") == "Research report"
    assert len(canvas_title("word " * 100)) <= 120


def test_the_file_holds_the_goal_the_answer_its_sources_and_figures() -> None:
    sources = (Source(url="https://a.example/x", title="A page"),)
    body = report_file("Why tides?", "The Moon [1].", sources, "12 s · $0.01")
    assert body.startswith("# Why tides?\n\nThe Moon [1].")
    assert "1. [A page](https://a.example/x)" in body or "a.example" in body
    assert body.rstrip().endswith("12 s · $0.01")
    assert report_filename("Why do tides happen? (2026)") == "why-do-tides-happen-2026.md"
    assert report_filename("???") == "report.md"
