"""Escaping, mention defusing and splitting within Slack's limits."""

from __future__ import annotations

import pytest

from bot.slack_text import defuse_mentions, escape, plain_preview, split_markdown, truncate


def test_escape_neutralises_special_mentions() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("ping <!channel> now", "ping `!channel` now"),
        ("<!here|here> x", "`!here` x"),
        ("<!subteam^S1|@team>", "`!subteam^S1`"),
        ("hi <@U0123ABC>", "hi `@U0123ABC`"),
        ("@everyone look", "`@everyone` look"),
        ("mail me at a@here.com", "mail me at a@here.com"),
    ],
)
def test_defuse_mentions(raw: str, safe: str) -> None:
    assert defuse_mentions(raw) == safe


def test_truncate_prefers_word_boundaries() -> None:
    text = "alpha beta gamma delta"
    assert truncate(text, 100) == text
    cut = truncate(text, 15)
    assert len(cut) <= 15
    assert cut == "alpha beta…"


def test_split_keeps_every_character_and_respects_the_limit() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 300 for i in range(40))
    chunks = split_markdown(text, 12_000)
    assert len(chunks) > 1
    assert all(len(c) <= 12_000 for c in chunks)
    assert "".join(c.replace("\n", "").replace(" ", "") for c in chunks) == text.replace(
        "\n", ""
    ).replace(" ", "")


def test_split_prefers_paragraph_boundaries() -> None:
    text = ("a" * 3000 + "\n\n") * 5
    chunks = split_markdown(text, 7000)
    assert all(c.endswith("a") for c in chunks)


def test_split_reopens_code_fences() -> None:
    text = "intro\n```python\n" + "x = 1\n" * 2000 + "```\nend"
    chunks = split_markdown(text, 5000)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.count("```") % 2 == 0, chunk[:40]
        assert len(chunk) <= 5000
    assert chunks[1].startswith("```python")


def test_split_refuses_absurd_limits() -> None:
    with pytest.raises(ValueError, match="too small"):
        split_markdown("x", 10)


def test_plain_preview_drops_markdown_marks_and_keeps_the_words() -> None:
    markdown = (
        "## Findings\n**Task:** pick a [database](https://x.io) and `profile` it\n- one\n- two"
    )
    preview = plain_preview(markdown, 200)
    assert preview == "Findings Task: pick a database and profile it one two"
    assert len(plain_preview(markdown * 20, 50)) <= 50
