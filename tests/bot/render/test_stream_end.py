"""How a stream still streaming ends (pure, `stream_end`): a note goes after what is shown;
an answer that fits goes whole (only what is not shown yet is added); one too long is cut
at a paragraph break with a line that it continues below, the rest (a code block reopened,
no Sources list past `cut_limit`) posted below; a stream that shows no prefix of the answer
is replaced, never appended to. Whatever the answer, the stream's text and the rest below
hold it all, and the stream never goes past its budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.render import native as nb
from bot.render import notes
from bot.render import text as text_sizes
from bot.render.stream_text import StreamedText, stream_end
from tests.bot.render.test_message_properties import FAST
from tests.bot.render.test_native_text import grow


def test_a_note_follows_what_is_shown_after_a_paragraph_break() -> None:
    text = StreamedText()
    grow(text, "Some answer so far ")
    end = stream_end(text, "Cancelled.", append=True, cut_limit=None, overhead=0)
    assert end.tail == "\n\nCancelled."
    assert end.closing
    assert end.rest is None
    assert not end.replace
    empty = stream_end(StreamedText(), "Cancelled.", append=True, cut_limit=None, overhead=0)
    assert empty.tail == "Cancelled."


def test_an_answer_that_fits_ends_with_what_is_not_shown_yet() -> None:
    answer = "The answer is written here. And it ends."
    text = StreamedText()
    grow(text, answer[:20])
    end = stream_end(text, answer, append=False, cut_limit=len(answer), overhead=0)
    assert text.shown + end.tail == nb.render(answer)
    assert end.closing
    assert end.rest is None


def test_an_answer_too_long_is_cut_between_paragraphs_and_continues_below() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 150 + f"END{i}" for i in range(20)]
    answer = "\n\n".join(paragraphs)
    sources = "\n\nSources:\n1. https://example.com/"
    text = StreamedText()
    grow(text, answer)
    end = stream_end(text, answer + sources, append=False, cut_limit=len(answer), overhead=0)
    assert not end.replace
    assert not end.closing  # the closing blocks go with the last message below
    assert end.tail.endswith(notes.ANSWER_CONTINUES)
    assert end.rest is not None
    assert end.rest.startswith("Paragraph ")
    assert end.rest.endswith("END19")  # the Sources list is the continuation's to render
    streamed = text.shown + end.tail.removesuffix(notes.ANSWER_CONTINUES)
    assert len(streamed.encode()) <= text_sizes.STREAM_BUDGET
    at = len(answer) - len(end.rest)  # no code block here: the rest is the raw tail as is
    assert answer[at:] == end.rest
    assert streamed == nb.render(answer[:at])


def test_a_code_block_open_at_the_cut_is_reopened_below() -> None:
    answer = "Intro.\n\n```python\n" + "print(1)\n\n" * 3000 + "```"
    text = StreamedText()
    end = stream_end(text, answer, append=False, cut_limit=len(answer), overhead=0)
    assert end.rest is not None
    assert end.rest.startswith("```python\n")


def test_a_stream_showing_no_prefix_of_the_answer_is_replaced() -> None:
    text = StreamedText()
    grow(text, "A first try at the answer ")
    end = stream_end(text, "Another answer altogether.", append=False, cut_limit=None, overhead=0)
    assert end.replace
    assert end.tail == ""
    assert not end.closing
    lost = StreamedText()
    grow(lost, "The answer ")
    lost.lost()  # a write that may or may not have landed: the stream's text is unknown
    assert stream_end(lost, "The answer is.", append=False, cut_limit=None, overhead=0).replace


@FAST
@given(
    st.lists(
        st.one_of(st.text(max_size=400), st.builds(lambda n: "word " * n, st.integers(0, 2500))),
        max_size=30,
    ),
    st.integers(0, 100),
)
def test_the_stream_and_the_rest_below_hold_the_whole_answer(
    lines: list[str], shown_percent: int
) -> None:
    answer = "\n\n".join(lines).strip()
    text = StreamedText()
    grow(text, answer[: len(answer) * shown_percent // 100])
    end = stream_end(text, answer, append=False, cut_limit=len(answer), overhead=0)
    if end.replace:
        return  # the message is edited to the whole end instead
    if end.rest is None:
        assert text.shown + end.tail == nb.render(answer)
        assert len((text.shown + end.tail).encode()) <= text_sizes.STREAM_BUDGET
        return
    whole = text.shown + end.tail
    assert whole.endswith((notes.ANSWER_CONTINUES, notes.ANSWER_BELOW))
    streamed = whole.removesuffix(notes.ANSWER_CONTINUES).removesuffix(notes.ANSWER_BELOW)
    assert len(streamed.encode()) <= text_sizes.STREAM_BUDGET
    assert answer.endswith(end.rest) or end.rest.startswith("```")  # a code block reopened
    assert end.rest.strip()  # something is left for below
