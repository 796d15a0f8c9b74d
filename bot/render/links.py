"""Links in untrusted text: found in both syntaxes and shown with their destination's host.

A model (or a person) can write `[Open the report](https://evil.example/x)` or Slack's own
`<https://evil.example/login|re-authenticate with Slack SSO>`: a label that hides where the
link goes. Every such link is rendered with its host in the label, so nobody clicks blind.
`bot/render/text.py` applies these rules; this module only knows links.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Markdown inline links and images: `[label](dest "title")`. The label may hold one level of
# balanced brackets (citations such as `[[1]](url)`), backslash escapes and single line breaks
# (CommonMark lets a label or title run over lines of one paragraph, so a label split over two
# lines must not slip through). Possessive quantifiers and alternatives that begin with
# distinct characters keep matching linear on hostile input (long runs of spaces, brackets).
_BREAK = r"\n(?![ \t]*+\n)"  # a line break that does not end the paragraph
_LABEL_CHAR = rf"(?:\\.|[^\[\]\\\n]|{_BREAK})"
_MD_LINK = (
    rf"(?P<bang>!?)\[(?P<label>(?:{_LABEL_CHAR}|\[{_LABEL_CHAR}*+\])*+)\]"
    r"\(\s*+(?:<(?P<adest>[^<>\n]*+)>|(?P<dest>(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*+\))*+))"
    rf"(?:\s++(?:\"(?:[^\"\n]|{_BREAK})*+\"|'(?:[^'\n]|{_BREAK})*+'|\((?:[^()\n]|{_BREAK})*+\)))?+"
    r"\s*+\)"
)
# Slack's own syntax: `<url>` or `<url|label>`, any scheme (mailto:, slack://, javascript:).
_ANGLE_LINK = (
    r"<(?P<url>[A-Za-z][A-Za-z0-9+.-]{0,31}:[^<>|\s]*+)"
    rf"(?:\|(?P<alabel>(?:[^<>\n]|{_BREAK})*+))?>"
)
LINKS = re.compile(f"{_MD_LINK}|{_ANGLE_LINK}")
# Where a match of `LINKS` can start: `[` or `![`, or `<` and a letter.
_OPENER = re.compile(r"!?\[|<(?=[A-Za-z])")
# A label read as `_MD_LINK` reads it, at its outer level, up to the next escaped bracket
# (`esc`, a `\[` whose `[` could start a link of its own). Same tokens, same order: possessive,
# so where one label's reading passes, any other's from there goes the same way.
_LABEL_RUN = re.compile(
    rf"(?:[^\[\]\\\n]++|{_BREAK}|\\[^\[\n]|\[{_LABEL_CHAR}*+\])*+(?P<esc>\\\[)?"
)
# A markdown link reference definition (`[ref]: https://…`, also inside a quote or a list item)
# turns `[label][ref]` elsewhere into a link. Only definitions whose destination could leave
# the page (a scheme, `//` or `<…>`) matter; footnotes (`[^1]:`) carry no destination. Code
# such as TypeScript's `[key: string]: T` does not match, so it is never altered.
REFERENCE_DEFINITION = re.compile(
    rf"^([ \t>*+\-0-9.)]*+\[(?!\^)(?:{_LABEL_CHAR})++\]):"
    r"(?=[ \t]*+\n?[ \t]*+(?:<|//|[A-Za-z][A-Za-z0-9+.-]{0,31}:))",
    re.MULTILINE,
)

_WEB = re.compile(r"https?://", re.IGNORECASE)
# Hosts shown to people: plain ASCII names and IP literals only. Anything else (percent
# escapes, odd characters) is where parsers disagree, so such a URL is never made a link.
_HOST = re.compile(r"[a-z0-9._~:-]+")
# Bidirectional controls can make an appended "(evil.example)" read backwards.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Link:
    """One link found in untrusted text: what it says and where it goes."""

    label: str  # as written (markdown: may hold balanced brackets); "" when none
    target: str  # the destination as written
    host: str | None  # the host a person should see; None: not an http(s) link we render
    markdown: bool  # written as `[label](target)` rather than Slack's `<target|label>`


def link_host(url: str) -> str | None:
    """The host to show for an http(s) URL, or None when `url` must not become a link.

    Backslashes are refused: browsers read `https://evil.example\\@slack.com` as a link to
    evil.example while Python's parser sees slack.com. Non-ASCII hosts are shown in their
    punycode form, so a look-alike of a known name cannot pass for it."""
    if not _WEB.match(url) or "\\" in url or any(c.isspace() for c in url):
        return None
    try:
        host = urllib.parse.urlsplit(url).hostname
    except ValueError:  # e.g. an unclosed IPv6 literal
        return None
    if not host:
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return host if _HOST.fullmatch(host) else None


def shows_host(label: str, host: str) -> bool:
    """True if `label` already names exactly `host` (not a longer name that contains it)."""
    pattern = rf"(?<![\w.-]){re.escape(host)}(?![\w-]|\.[\w-])"
    return re.search(pattern, label.lower()) is not None


def labelled(label: str, host: str) -> str:
    """`label (host)`, or the label alone when it already shows that very host."""
    label = " ".join(_BIDI.sub("", label).split())
    if not label:
        return host
    return label if shows_host(label, host) else f"{label} ({host})"


def parse(match: re.Match[str]) -> Link:
    """The link a match of `LINKS` found."""
    if match.group("url") is not None:
        target = match.group("url")
        return Link(match.group("alabel") or "", target, link_host(target), markdown=False)
    target = match.group("adest") if match.group("adest") is not None else match.group("dest")
    return Link(match.group("label"), target or "", link_host(target or ""), markdown=True)


def find(text: str) -> Iterator[re.Match[str]]:
    """The matches `LINKS.finditer(text)` gives, in time linear in `text` whatever its shape.

    `LINKS.finditer` tries every `[`, and a label may run over escaped brackets: on `[\\[\\[…`
    each try read to the end of the text, quadratic (3 s for 40,000 characters). Here, when a
    try at a `[` fails, every `\\[` its label read over at its outer level is a try that would
    read on from the same place, the same way (the reading is deterministic), and fail the same
    way: it is not made. What is left is read about twice at most."""
    if "\\[" not in text:
        # Without an escaped bracket, a label holds `[` only as the start of a nested pair,
        # whose own try ends where the pair does: `LINKS` alone is linear (and faster).
        yield from LINKS.finditer(text)
        return
    dead: set[int] = set()  # `[` whose try is known to fail
    pos = 0
    while (opener := _OPENER.search(text, pos)) is not None:
        start = opener.start()
        bracket = opener.end() - 1 if text[start] != "<" else -1
        if bracket in dead:
            pos = opener.end()
            continue
        match = LINKS.match(text, start)
        if match is not None:
            yield match
            pos = match.end()
            continue
        if bracket >= 0:
            dead.add(bracket)  # after `![`, the try at its `[` fails the same way
            at = bracket + 1
            while (run := _LABEL_RUN.match(text, at)) is not None and run.group("esc"):
                dead.add(run.end() - 1)
                at = run.end()
        pos = start + 1


def rewrite(text: str, render: Callable[[Link], str], rest: Callable[[str], str]) -> str:
    """`text` with each link replaced by `render(link)` and the text between by `rest(text)`."""
    out: list[str] = []
    at = 0
    for match in find(text):
        out.append(rest(text[at : match.start()]))
        out.append(render(parse(match)))
        at = match.end()
    out.append(rest(text[at:]))
    return "".join(out)
