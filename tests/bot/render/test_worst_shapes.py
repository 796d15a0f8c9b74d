"""Rendering untrusted text on its worst shapes (issue 19.16): long runs of `[\\`, `\\`, `[`,
backticks, `*`, `<`, `&`, nested brackets, unclosed fences, line breaks. Rendering them was
quadratic (a 40,000-character answer blocked the event loop 3.2 s); `bench.rendering` shows
the time against the length (`python -m bench --only rendering`). Here: the same properties as
for any text (within limits, nothing lost, nothing live), on those shapes at length, and the
work the renderers do counted (not timed): renderings per cut, characters rendered per answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import links as slack_links
from bot.render import messages as blocks
from bot.render import native as nb
from bot.render import text as text_sizes
from bot.render.stream_text import StreamedText
from bot.render.text import (
    MARKDOWN_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    fence_after,
    markdown_as_mrkdwn,
    safe_markdown,
    safe_mrkdwn,
    split_chunks,
)
from bot.thread.answer_stream import finished_part
from pipeline.view import RunView
from tests.bot.render.test_message_properties import a_plan, a_result, assert_acceptable
from tests.bot.render.test_text_properties import FRAGMENTS, assert_safe_mrkdwn, reassembles

# No deadline: these examples are long on purpose, and time is the benchmark's to show.
LONG = settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WORST_PIECES = [
    "[\\",
    "\\",
    "[",
    "]",
    "`",
    "```\n",
    "```python\n",
    "*",
    "<",
    "&",
    "![",
    "[a](",
    "\\<",
    "\\[",
    "<a:|",
    "[a]:\n",
    "[[a]]",
    "\n",
    "[\\ ",
    "\\\n",
    "`` ",
]
WORST_RUNS = st.builds(
    lambda piece, count: piece * count, st.sampled_from(WORST_PIECES), st.integers(0, 12_000)
)
NESTED = st.builds(lambda depth: "[" * depth + "a" + "]" * depth, st.integers(0, 6_000))
WORST = st.lists(
    st.one_of(WORST_RUNS, NESTED, st.sampled_from(FRAGMENTS)), min_size=1, max_size=5
).map("".join)
LIMITS = st.sampled_from([100, 3000, MARKDOWN_BLOCK_LIMIT])
_LIVE_START = re.compile(r"<(?:[!@#]|[A-Za-z][A-Za-z0-9+.-]*:\S)")


@LONG
@given(WORST, LIMITS)
def test_worst_shapes_split_within_the_limit_and_lose_nothing(text: str, limit: int) -> None:
    chunks = split_chunks(text, limit)
    for chunk in chunks:
        assert 0 < len(chunk.text) <= limit
        assert fence_after(chunk.text) is None
    assert reassembles(text.strip(), [c.body for c in chunks])


@LONG
@given(WORST)
def test_worst_shapes_render_with_nothing_live(text: str) -> None:
    assert_safe_mrkdwn(safe_mrkdwn(text))
    out = safe_markdown(text)
    assert _LIVE_START.search(out) is None
    for match in slack_links.find(out):
        link = slack_links.parse(match)
        if link.markdown and link.host is not None:
            assert slack_links.shows_host(link.label, link.host)
    assert_safe_mrkdwn(markdown_as_mrkdwn(out))


@LONG
@given(WORST)
def test_worst_shapes_make_acceptable_answer_messages(answer: str) -> None:
    messages = blocks.answer_messages(a_result(answer, a_plan(["A role."], "the goal")))
    assert messages
    for message in messages:
        assert_acceptable(message)
    for message in blocks.plain_messages(messages[0]):
        assert len(message.text) <= SECTION_TEXT_LIMIT


@LONG
@given(WORST)
def test_worst_shapes_grow_in_parts_that_fit_and_lose_nothing(text: str) -> None:
    reopen, rest, taken = "", text, ""
    while (split := finished_part(reopen, rest)) is not None:
        part, took, reopen = split
        assert took > 0
        # One message, or nothing at all for a part of blank lines (the stream skips it).
        assert len(blocks.answer_part_chunks(part)) == (1 if part.strip() else 0)
        taken += rest[:took]
        rest = rest[took:]
    assert taken + rest == text


@LONG
@given(WORST)
def test_worst_shapes_stream_within_the_limit(answer: str) -> None:
    text = StreamedText()
    for end in (len(answer) // 3, len(answer) * 2 // 3, len(answer)):
        piece = text.next_piece(answer[:end], 600)
        if piece is not None:
            text.show(piece)
        assert 600 + len(text.shown.encode()) <= text_sizes.STREAM_BUDGET
    cut = text.cut(answer, len(answer), 600)
    if cut is not None:
        assert cut.part(answer).startswith(text.shown)
        assert 600 + len(cut.part(answer).encode()) <= text_sizes.STREAM_BUDGET
        assert (
            answer[: cut.at]
            + cut.rest(answer, len(answer)).removeprefix(cut.fence.reopen if cut.fence else "")
            == answer
        )


LINKISH = st.lists(
    st.sampled_from(
        ["[", "]", "\\", "(", ")", "!", "<", ">", "|", "a", " ", "\n", '"', "h:", "http://x.y"]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(LINKISH)
@pytest.mark.slow
def test_links_are_found_exactly_as_the_pattern_finds_them(text: str) -> None:
    found = [(m.span(), m.groupdict()) for m in slack_links.find(text)]
    assert found == [(m.span(), m.groupdict()) for m in slack_links.LINKS.finditer(text)]


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """Wrap `module.name` (a function of a text) to record each text's length."""
    lengths: list[int] = []
    real: Callable[[str], str] = getattr(module, name)

    def counted(text: str) -> str:
        lengths.append(len(text))
        return real(text)

    monkeypatch.setattr(module, name, counted)
    return lengths


@pytest.mark.parametrize("piece", ["\n", "\n<", " \\", "```\nx\n", "[\\\n"])
def test_a_cut_renders_its_candidates_by_halving_not_one_by_one(
    monkeypatch: pytest.MonkeyPatch, piece: str
) -> None:
    # Hundreds of breaks near the end of the room, each one too late: trying them from the
    # last one by one rendered the whole room hundreds of times (1.9 s on line breaks).
    answer = piece * (40_000 // len(piece))
    renders = _counting(monkeypatch, nb, "render")
    cut = StreamedText().cut(answer, len(answer), 600)
    assert cut is not None
    assert len(renders) <= 20
    assert 600 + len(cut.part(answer).encode()) <= text_sizes.STREAM_BUDGET


def _growing_parts(text: str) -> Iterator[str]:
    """The parts the answer stream finishes for one snapshot of `text` (as `_show` does)."""
    reopen, done = "", 0
    while (split := finished_part(reopen, text[done:])) is not None:
        part, took, reopen = split
        done += took
        yield part


@pytest.mark.parametrize("piece", ["word ", "[\\", "<", "a\n"])
def test_a_long_answer_is_cut_in_parts_rendering_each_character_a_few_times(
    monkeypatch: pytest.MonkeyPatch, piece: str
) -> None:
    # Each finished part used to render everything still to come first: 14 parts of a
    # 100,000-character answer rendered about 700,000 characters.
    text = piece * (100_000 // len(piece))
    rendered = _counting(monkeypatch, blocks, "safe_markdown")
    parts = list(_growing_parts(text))
    assert len(parts) >= 10
    assert sum(rendered) <= 4 * len(text)


def test_an_expired_streams_edit_too_long_for_one_message_is_refused_not_raised() -> None:
    # Building a markdown block of more than 12,000 characters raises in slack_sdk: the
    # edit of an expired stream with a long answer fell over instead of going below.
    view = RunView(run_id="r1", goal="the goal")
    assert nb.fallback_message(view, "Researching", "word " * 20_000) is None
