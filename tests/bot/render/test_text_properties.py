"""Property-based tests for every function that cuts, escapes or truncates untrusted text.

For any text (code fences, very long lines, no spaces, emoji with ZWJ, `&<>`, Slack's control
sequences, links in both syntaxes) each function ends quickly (the deadline), stays within
its limit, and loses or duplicates nothing.

The splitter's invariant, precisely: `split_chunks(text, limit)` gives chunks with
`chunk.text == chunk.reopen + chunk.body + chunk.close`, where `reopen` is empty or one
short fence line and `close` empty or one closing fence line (the only characters the
splitter adds), and `text.strip() == body_1 + w_1 + body_2 + … + w_(n-1) + body_n` for some
whitespace-only strings `w_i` (the whitespace dropped at the cuts)."""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.render import links as slack_links
from bot.render.text import (
    MARKDOWN_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    escape,
    fence_after,
    markdown_as_mrkdwn,
    mrkdwn_line,
    one_line,
    plain_preview,
    safe_markdown,
    safe_mrkdwn,
    split_chunks,
    split_markdown,
    truncate,
)

FAST = settings(
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FRAGMENTS = [
    "```",
    "```python",
    "````",
    "~~~",
    "`",
    "``",
    "\n",
    "\n\n",
    " ",
    "\r\n",
    ". ",
    "&",
    "&amp;",
    "&lt;",
    "<",
    ">",
    "> ",
    "\\",
    "<!channel>",
    "<!here|here>",
    "<!group>",
    "<@U0123ABC>",
    "<#C1|general>",
    "<!subteam^S1|@team>",
    "@here",
    "@channel",
    "<https://evil.example/login|re-authenticate with Slack SSO>",
    "<https://evil.example/x>",
    "<mailto:a@b.example|mail>",
    "[Open the report](https://evil.example/x)",
    "[[1]](https://src.example/a?x=1&y=2)",
    "![img](https://img.example/i.png)",
    "[ref]: https://evil.example/",
    "> [ref]:\n  <https://evil.example/>",
    '[Open\nthe report](https://evil.example/x "multi\nline")',
    "<https://evil.example/a b|label>",
    "[a\\]b]: https://evil.example",
    "[label][ref]",
    "](https://",
    "👩\u200d👩\u200d👧",
    "🏳️\u200d🌈",
    "e\u0301",
    "\u202e",
    "日本語",
    "*bold*",
    "**bold**",
]
LONG_RUNS = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["a", "`", " ", "\n", "&", "<", "x ", "👩\u200d👧", "```\n", "ab\n\n"]),
    st.integers(0, 4000),
)
UNTRUSTED = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40), LONG_RUNS), max_size=40
).map("".join)
LIMITS = st.integers(100, 4000)

_OUR_LINK = re.compile(r"<(https?://[^\s<>|]+)(?:\|([^<>]*))?>")
_BROADCAST = re.compile(r"(?<!\w)@(?i:channel|here|everyone|group)\b")
# A link reference definition (in a quote or list item too) pointing off the page.
_DEFINITION = re.compile(
    r"^[ \t>*+\-0-9.)]*\[(?!\^)(?:\\.|[^\[\]\\\n]|\n(?!\s*\n))+\]:"
    r"[ \t]*\n?[ \t]*(?:<|//|[A-Za-z][A-Za-z0-9+.-]*:)",
    re.MULTILINE,
)


def reassembles(text: str, bodies: list[str]) -> bool:
    """True if `text` is the bodies in order with only whitespace between and around them."""
    at = 0
    for body in bodies:
        while not text.startswith(body, at):
            if at >= len(text) or not text[at].isspace():
                return False
            at += 1
        at += len(body)
    return text[at:].strip() == ""


@FAST
@given(UNTRUSTED, LIMITS)
@example("```" + "a" * 13_000, MARKDOWN_BLOCK_LIMIT)  # the shapes that once looped forever
@example("```" + "b" * 6_500 + "\n" + "prose " * 1_200, MARKDOWN_BLOCK_LIMIT)
@example("```" + "c" * 2_000 + "\n" + "words " * 600, SECTION_TEXT_LIMIT)
@example("x" * 150 + " " * 150 + "```python", 200)  # backticks cut off their line: still text
def test_split_chunks_are_within_the_limit_balanced_and_lose_nothing(text: str, limit: int) -> None:
    chunks = split_chunks(text, limit)
    for index, chunk in enumerate(chunks):
        assert 0 < len(chunk.text) <= limit
        assert chunk.body.strip()
        assert fence_after(chunk.text) is None  # every chunk renders on its own
        assert re.fullmatch(r"(`{3,10}[^`\s]{0,20}\n)?\u2060?", chunk.reopen)
        assert re.fullmatch(r"(\n`{3,10})?", chunk.close)
        # A fence is reopened exactly where the previous chunk had to close one.
        previous_closed = index > 0 and bool(chunks[index - 1].close)
        assert bool(chunk.reopen.rstrip("\u2060")) == previous_closed
        # A word joiner only where a cut inside a line left backticks at a line's start.
        if chunk.reopen.endswith("\u2060"):
            assert re.match(r"[ \t]*```", chunk.body)
    assert reassembles(text.strip(), [c.body for c in chunks])
    assert [c.text for c in chunks] == split_markdown(text, limit)


@FAST
@given(UNTRUSTED)
def test_escape_leaves_no_control_character_and_can_be_undone(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert re.search(r"&(?!amp;|lt;|gt;)", escaped) is None
    undone = escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert undone == text


@FAST
@given(UNTRUSTED, st.integers(0, 400))
def test_truncate_is_a_prefix_within_the_limit(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
    elif limit > 1:
        assert cut.endswith("…")
        assert text.startswith(cut[:-1])


@FAST
@given(UNTRUSTED, st.integers(2, 400))
def test_truncating_escaped_text_never_cuts_an_entity_or_a_link(text: str, limit: int) -> None:
    for safe in (escape(text), safe_mrkdwn(text)):
        cut = truncate(safe, limit)
        assert re.search(r"&(?!amp;|lt;|gt;)", cut) is None
        assert cut.count("<") == cut.count(">")


@FAST
@given(UNTRUSTED, st.integers(2, 400))
def test_one_line_and_previews_are_single_lines_within_the_limit(text: str, limit: int) -> None:
    for line in (one_line(text, limit), plain_preview(text, limit)):
        assert len(line) <= limit
        assert "\n" not in line
        assert "  " not in line
    collapsed = " ".join(text.split())
    line = one_line(text, limit)
    assert line == collapsed if len(collapsed) <= limit else collapsed.startswith(line[:-1])


def assert_safe_mrkdwn(out: str) -> None:
    """Only the links we generate survive as `<…>`, each showing its host; all else escaped."""
    for match in _OUR_LINK.finditer(out):
        host = slack_links.link_host(match.group(1).replace("&amp;", "&"))
        assert host is not None
        if match.group(2) is not None:
            assert slack_links.shows_host(match.group(2), host)
    rest = _OUR_LINK.sub("", out)
    assert "<" not in rest
    assert ">" not in rest
    assert re.search(r"&(?!amp;|lt;|gt;)", out) is None


@FAST
@given(UNTRUSTED)
def test_safe_mrkdwn_lets_no_control_sequence_or_disguised_link_through(text: str) -> None:
    assert_safe_mrkdwn(safe_mrkdwn(text))
    assert_safe_mrkdwn(mrkdwn_line(text, 300))


@FAST
@given(UNTRUSTED)
def test_safe_markdown_has_no_live_mention_or_disguised_link(text: str) -> None:
    out = safe_markdown(text)
    # Nothing can start a Slack control sequence, whatever a parser makes of backslashes:
    # every `<` that could is broken by a word joiner (or lost its brackets).
    assert re.search(r"<(?:[!@#]|[A-Za-z][A-Za-z0-9+.-]*:\S)", out) is None
    assert re.search(r"<(?!\u2060)[^<>\n]*\|[^<>\n]*>", out) is None
    assert _BROADCAST.search(out) is None
    assert _DEFINITION.search(out) is None
    for match in slack_links.LINKS.finditer(out):
        link = slack_links.parse(match)
        if link.markdown and link.host is not None:
            assert slack_links.shows_host(link.label, link.host)
    assert_safe_mrkdwn(markdown_as_mrkdwn(out))


@FAST
@given(st.text(max_size=60), st.text(max_size=300))
def test_labelled_always_shows_the_host(label: str, url: str) -> None:
    host = slack_links.link_host("https://" + url)
    if host is not None:
        assert re.fullmatch(r"[a-z0-9._~:-]+", host)
        assert slack_links.shows_host(slack_links.labelled(label, host), host)


@FAST
@given(UNTRUSTED)
def test_split_of_the_plain_fallback_size_is_within_it(text: str) -> None:
    for chunk in split_markdown(safe_mrkdwn(text), SECTION_TEXT_LIMIT):
        assert len(chunk) <= SECTION_TEXT_LIMIT
