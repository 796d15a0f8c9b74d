"""Escaping, mention defusing and splitting within Slack's limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from bot.render.text import (
    MARKDOWN_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    escape,
    fence_after,
    markdown_as_mrkdwn,
    mrkdwn_line,
    plain_preview,
    safe_markdown,
    safe_mrkdwn,
    split_markdown,
    truncate,
)


def test_escape_neutralises_special_mentions() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


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
    # A link reads as its label and, unlinked, the host it pointed to.
    assert preview == "Findings Task: pick a database (x.io) and profile it one two"
    assert len(plain_preview(markdown * 20, 50)) <= 50


# --- the splitter once looped forever on these shapes (issue 9, item 1) ---------------------
# Each runs in a child process with a timeout: on the old code the split never returned
# (and grew memory), which must fail the test, not hang the suite.

_SPLIT_IN_CHILD = """
import json, sys
from bot.render.messages import SlackMessage, plain_messages
from bot.render.text import split_markdown
shape = sys.argv[1]
fence_line = "```" + "a" * 13_000
if shape == "long_fence_line":
    chunks = split_markdown(fence_line)
elif shape == "fence_line_then_prose":
    chunks = split_markdown("```" + "b" * 6_500 + "\\n" + "prose words " * 600)
else:
    text = "```" + "c" * 2_000 + "\\n" + "more words " * 300
    message = SlackMessage("fallback", [{"type": "markdown", "text": text}])
    chunks = [m.text for m in plain_messages(message)]
print(json.dumps(chunks))
"""


def split_in_child(shape: str) -> list[str]:
    """The chunks of one hanging shape, split in a child process that may take 20 s."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _SPLIT_IN_CHILD, shape],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    chunks: list[str] = json.loads(done.stdout)
    return chunks


def assert_balanced_within(chunks: list[str], limit: int) -> None:
    assert chunks
    for chunk in chunks:
        assert 0 < len(chunk) <= limit
        assert fence_after(chunk) is None, chunk[:40]


def test_a_13000_character_fence_line_is_split() -> None:
    chunks = split_in_child("long_fence_line")
    assert_balanced_within(chunks, MARKDOWN_BLOCK_LIMIT)
    assert sum(c.count("a") for c in chunks) == 13_000
    assert chunks[1].startswith("```\n")  # reopened with a short marker, not the whole line


def test_a_6500_character_fence_line_then_prose_is_split() -> None:
    chunks = split_in_child("fence_line_then_prose")
    assert_balanced_within(chunks, MARKDOWN_BLOCK_LIMIT)
    assert sum(c.count("b") for c in chunks) == 6_500
    assert sum(c.count("prose words") for c in chunks) == 600


def test_a_2000_character_fence_line_falls_back_to_plain_text() -> None:
    chunks = split_in_child("plain_fallback")
    assert_balanced_within(chunks, SECTION_TEXT_LIMIT)
    assert sum(c.count("c") for c in chunks) == 2_000
    assert sum(c.count("more words") for c in chunks) == 300


def test_split_time_is_linear_in_the_text() -> None:
    hostile = ("```" + "x" * 20_000 + "\n" + "y" * 9_000 + "\n\n") * 40  # 1.1 MB, few spaces
    started = time.perf_counter()
    chunks = split_markdown(hostile, 3000)
    assert time.perf_counter() - started < 2
    assert all(len(c) <= 3000 for c in chunks)


def test_reopened_fence_keeps_a_short_language_tag_only() -> None:
    text = "```python\n" + "x = 1\n" * 1000
    assert split_markdown(text, 1000)[1].startswith("```python\n")
    tagged = "```" + "p" * 40 + "\n" + "x = 1\n" * 1000
    assert split_markdown(tagged, 1000)[1].startswith("```\n")


def test_an_unclosed_fence_is_closed_in_its_chunk() -> None:
    assert split_markdown("```\ncode") == ["```\ncode\n```"]


def test_hard_cuts_keep_emoji_sequences_and_entities_whole() -> None:
    family = "👩\u200d👩\u200d👧"
    chunks = split_markdown(family * 200, 100)
    assert "".join(chunks) == family * 200
    assert all(not c.startswith("\u200d") and not c.endswith("\u200d") for c in chunks)
    entities = split_markdown("&amp;" * 100, 101)
    assert all(c.startswith("&amp;") and c.endswith("&amp;") for c in entities)


def test_truncate_never_cuts_an_entity_or_a_link() -> None:
    assert truncate("a&amp;b" * 20, 10) == "a&amp;ba…"
    link = "<https://evil.example/x|Open the report (evil.example)>"
    assert truncate(f"see {link} now", 30) == "see…"
    assert truncate("🏳️\u200d🌈" * 10, 6).endswith("🏳️\u200d🌈…")


# --- untrusted text: escaping by allowlist, links that show their host (item 3) -------------


def test_safe_mrkdwn_escapes_every_control_sequence() -> None:
    for raw in ("<!channel>", "<!here>", "<!group>", "<@U1>", "<#C1|general>", "<!date^1^x|y>"):
        assert "<" not in safe_mrkdwn(f"hi {raw} there")


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        (
            "[Open the report](https://evil.example/x)",
            "<https://evil.example/x|Open the report (evil.example)>",
        ),
        (
            "<https://evil.example/login|re-authenticate with Slack SSO>",
            "<https://evil.example/login|re-authenticate with Slack SSO (evil.example)>",
        ),
        ("<https://evil.example/login>", "<https://evil.example/login>"),
        ("[evil.example](https://evil.example/x)", "<https://evil.example/x|evil.example>"),
        ("[slack.com](https://slack.com@evil.example/)", "<https://slack.com@evil.example/|"),
        ("[a](https://x.example/?a=1&b=2)", "<https://x.example/?a=1&amp;b=2|a (x.example)>"),
        ("<mailto:a@b.example|write to us>", "write to us (mailto:a@b.example)"),
        ("[run](javascript:alert(1))", "run (javascript:alert(1))"),
        ("[x](https://evil.example\\@slack.com/)", "x (https://evil.example\\@slack.com/)"),
    ],
)
def test_safe_mrkdwn_links_show_their_host(raw: str, safe: str) -> None:
    assert safe in safe_mrkdwn(raw)


def test_a_look_alike_host_is_shown_in_punycode() -> None:
    assert "(xn--slck-63d.com)" in safe_mrkdwn("[Slack](https://sl\u0430ck.com/login)")


def test_bidi_controls_cannot_reverse_the_shown_host() -> None:
    assert "\u202e" not in safe_mrkdwn("[Open \u202e](https://evil.example)")


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        (
            "[Open the report](https://evil.example/x)",
            "[Open the report (evil.example)](https://evil.example/x)",
        ),
        (
            "<https://evil.example/login|re-authenticate>",
            "[re-authenticate (evil.example)](https://evil.example/login)",
        ),
        ("![logo](https://img.example/l.png)", "[logo (img.example)](https://img.example/l.png)"),
        ("[[1]](https://src.example/a)", "[[1] (src.example)](https://src.example/a)"),
        ("[ref]: https://evil.example/x", "[ref] : https://evil.example/x"),
        ("<!group> and <!channel>", "`!\u2060group` and `!\u2060channel`"),
        ("ping @here and @Everyone", "ping @\u2060here and @\u2060Everyone"),
        ("a < b > c & d &amp;", "a \\< b \\> c & d \\&amp;"),
        ("> quoted > text", "> quoted \\> text"),
        ("`<!here>` and `a < b`", "`<\u2060!here>` and `a < b`"),
        ("```\n<!channel> @everyone x<y\n```", "```\n<\u2060!channel> @\u2060everyone x<y\n```"),
    ],
)
def test_safe_markdown_defuses_and_labels(raw: str, safe: str) -> None:
    assert safe_markdown(raw) == safe


def test_a_link_inside_a_link_label_shows_its_host_too() -> None:
    out = safe_markdown("[![img](https://a.example/i.png)](https://b.example/)")
    assert "(a.example)" in out
    assert "(b.example)" in out


def test_markdown_as_mrkdwn_keeps_words_and_host_labels() -> None:
    markdown = safe_markdown("a < b, [Open](https://evil.example/x) <!here>")
    assert markdown_as_mrkdwn(markdown) == (
        "a &lt; b, <https://evil.example/x|Open (evil.example)> `!\u2060here`"
    )


def test_mrkdwn_line_truncates_after_escaping() -> None:
    line = mrkdwn_line("&" * 100, 12)
    assert line == "&amp;&amp;…"
