"""Cutting a growing answer into finished parts: each fits a message, nothing is lost."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.render import messages as blocks
from bot.thread.answer_stream import cut_point, finished_part
from pipeline.markdown import fence_after
from tests.bot.render.test_message_properties import FAST

_LINES = st.lists(
    st.one_of(
        st.text(max_size=300),
        st.sampled_from(["```", "```python", "", "- item", "# Title", "[a](https://x.example/)"]),
        st.builds(lambda n: "word " * n, st.integers(0, 3000)),
    ),
    max_size=60,
)


@FAST
@given(_LINES)
def test_parts_fit_a_message_and_lose_nothing(lines: list[str]) -> None:
    text = "\n".join(lines)
    reopen, rest, parts = "", text, []
    while (split := finished_part(reopen, rest)) is not None:
        part, took, reopen_next = split
        assert took > 0  # every cut moves on
        assert len(blocks.answer_part_chunks(part)) == 1
        assert fence_after(part) is None  # it renders on its own
        # The next part opens no code block the text does not have at that point.
        assert fence_after(reopen_next) == fence_after(text[: len(text) - len(rest) + took])
        parts.append((reopen, rest[:took]))
        reopen, rest = reopen_next, rest[took:]
    assert "".join(raw for _, raw in parts) + rest == text


def test_a_cut_prefers_a_paragraph_break() -> None:
    text = "a" * 600 + "\n\n" + "b" * 300 + "\n" + "c" * 300
    assert cut_point(text, 1000) == 602
    assert cut_point("x" * 2000, 1000) == 1000


def test_a_code_block_open_at_a_cut_is_closed_and_reopened() -> None:
    text = "```python\n" + "print(1)\n" * 3000
    split = finished_part("", text)
    assert split is not None
    part, took, reopen = split
    assert part.endswith("\n```")
    assert reopen == "```python\n"
    assert took < len(text)
