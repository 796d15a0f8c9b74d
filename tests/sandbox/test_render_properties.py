"""Properties of the sandbox page's renderers over any text (code fences, marks, Slack's `<…>`,
markdown links, emoji codes, long runs of one character): each ends quickly (the deadline),
escapes everything (the only markup in its HTML is its own tags and attributes, every
attribute quoted, every link http(s) or an address in the page) and loses no text (every
letter and digit of the input is in what the page shows or in a link's address)."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import UTC, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.render.history import thread_link
from sandbox.fakes.slack import WORKSPACE_URL, Message
from sandbox.render import markdown, message_html, mrkdwn

FAST = settings(
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PERMALINK = thread_link(WORKSPACE_URL, "CSANDBOX", "1733000000.123456")
FRAGMENTS = [
    "```",
    "```python\n",
    "`",
    "``",
    "\n",
    " ",
    "*",
    "**",
    "_",
    "__",
    "~",
    "~~",
    "&",
    "&amp;",
    "&lt;",
    "&gt;",
    "<",
    ">",
    "> ",
    '"',
    "'",
    "\\",
    "\\*",
    "# ",
    "- ",
    "|",
    "<@U1>",
    "<@U1|ada>",
    "<#C1>",
    "<#C1|general>",
    "<!here>",
    ":x:",
    ":large_yellow_circle:",
    ":unknown:",
    "<https://a.example/x_y_|a *link*>",
    "<https://a.example/?q=1&amp;r=2>",
    "<javascript:alert(1)|click>",
    f"<{PERMALINK}|thread>",
    "[label](https://b.example/p_(q))",
    "[x](javascript:alert(1))",
    '<img src=x onerror="alert(1)">',
    "<script>alert(1)</script>",
    "\ue000",
    "\ue0010\ue001",
    "日本語",
    "👩\u200d👧",
]
LONG_RUNS = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["`", "*", "_", "~", "<", "&lt;", "[", "[a", "```\n", "*a ", ":x", "\n"]),
    st.integers(0, 3000),
)
UNTRUSTED = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30), LONG_RUNS), max_size=30
).map("".join)

# The renderers' own markup: these tags, with these attributes, each value quoted.
TAGS = {"a", "b", "i", "s", "code", "pre", "br", "blockquote", "span", "h4", "time", "div"}
ATTRIBUTES = {"href", "target", "rel", "class", "data-lang", "data-thread", "id", "datetime"}
ATTRIBUTES |= {"title"}
TAG = re.compile(r'<(/?)([a-z0-9]+)((?: [a-z-]+="[^"<>]*")*)>')
ATTRIBUTE = re.compile(r' ([a-z-]+)="([^"<>]*)"')
ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|#x27);)")
# Shown as something else, as Slack shows them: people and channels by name, emoji codes.
REPLACED = re.compile(r"<[@#!][^<>]*>|:(?:x|large_yellow_circle):")


def shown_and_linked(out: str) -> str:
    """What the page shows of `out` (its text, unescaped) and its links' addresses, after
    checking it escapes everything: only our tags and attributes, every link to http(s) or an
    address in the page, no stray `<`, `>` or `&`."""
    for closing, tag, attributes in TAG.findall(out):
        assert tag in TAGS, out
        assert not (closing and attributes), out
        for name, value in ATTRIBUTE.findall(attributes):
            assert name in ATTRIBUTES, out
            if name == "href":
                assert re.match(r"https?://|#/archives/", html.unescape(value)), out
    text = TAG.sub("", out)
    assert "<" not in text, out
    assert ">" not in text, out
    assert not ENTITY.search(text), out
    # A link's address, and the Slack address a link to a thread stands for (its title).
    addresses = " ".join(re.findall(r' (?:href|title)="([^"]*)"', out))
    return html.unescape(text) + " " + html.unescape(addresses)


def letters(text: str) -> Counter[str]:
    return Counter(c for c in text if c.isalnum())


def assert_nothing_lost(before: str, after: str) -> None:
    missing = letters(REPLACED.sub(" ", before)) - letters(after)
    assert not missing, (missing, before, after)


def as_slack_sends(text: str) -> str:
    """Text as Slack sends mrkdwn: `&`, `<` and `>` escaped; the renderer undoes that first."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@FAST
@given(UNTRUSTED)
@example("```rm -rf /``` ~strike~ <#CSANDBOX> :large_yellow_circle:")
@example("<" * 3000)  # the shapes that could take quadratic time
@example("[" * 3000)
@example("`" * 3000 + "a")
def test_mrkdwn_escapes_everything_and_loses_no_text(text: str) -> None:
    out = mrkdwn(text, {"U1": "Ada", "C1": "general"})
    assert_nothing_lost(as_slack_sends(text), shown_and_linked(out))


@FAST
@given(UNTRUSTED)
@example("```sh\nrm -rf /\n``` ~~strike~~ <#CSANDBOX> :large_yellow_circle:")
@example("[" * 3000)
@example("[a" * 1500)
def test_markdown_escapes_everything_and_loses_no_text(text: str) -> None:
    out = markdown(text, {"U1": "Ada", "C1": "general"})
    # A code block's language is kept in its `data-lang`.
    languages = " ".join(re.findall(r'data-lang="([^"]*)"', out))
    assert_nothing_lost(text, shown_and_linked(out) + html.unescape(languages))


@FAST
@given(UNTRUSTED, UNTRUSTED, st.floats(0, 4_000_000_000), st.integers(0, 3))
def test_a_message_escapes_everything_and_loses_no_text(
    text: str, user: str, seconds: float, replies: int
) -> None:
    message = Message(f"{seconds:.6f}", "C1", text, user=user)
    out = message_html(message, replies, {"U1": "Ada"}, tz=UTC)
    assert_nothing_lost(as_slack_sends(text) + user, shown_and_linked(out))
