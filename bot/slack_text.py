"""All knowledge of Slack's text limits lives here: escaping, truncating and splitting."""

from __future__ import annotations

import re

# Slack's documented limits (DESIGN.md "Platform limits").
MESSAGE_TEXT_LIMIT = 4000  # keep a message's `text` under this
SECTION_TEXT_LIMIT = 3000  # a section block's text
MARKDOWN_BLOCK_LIMIT = 12_000  # a markdown block, and all markdown in one message
MAX_BLOCKS = 50
BUTTON_TEXT_LIMIT = 75
HEADER_TEXT_LIMIT = 150

_SPECIAL_MENTION = re.compile(
    r"<(!(?:channel|here|everyone)|!subteam\^[^>|]*|@[UW][A-Z0-9]+)(\|[^>]*)?>"
)
_BARE_BROADCAST = re.compile(r"(?<![\w`])@(channel|here|everyone)\b")


def escape(text: str) -> str:
    """Escape user text for mrkdwn: `&`, `<`, `>` (so `<!channel>` can never ping anyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def defuse_mentions(text: str) -> str:
    """Markdown that a model wrote, with every broadcast or user mention made inert."""
    text = _SPECIAL_MENTION.sub(lambda m: f"`{m.group(1)}`", text)
    return _BARE_BROADCAST.sub(lambda m: f"`@{m.group(1)}`", text)


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """At most `limit` characters, cut at a word boundary where one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ellipsis)]
    space = cut.rfind(" ", max(0, len(cut) - 40))
    return (cut[:space] if space > 0 else cut) + ellipsis


def one_line(text: str, limit: int) -> str:
    """Whitespace collapsed to single spaces, then truncated."""
    return truncate(" ".join(text.split()), limit)


_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"\*\*|__|`+|^\s*#+\s*|^\s*[-*+]\s+", re.MULTILINE)


def plain_preview(markdown: str, limit: int) -> str:
    """A one-line preview of Markdown with its marks removed.

    A preview is cut mid-text, so converting marks could leave one open (and Slack's mrkdwn
    reads `**` differently anyway); plain words read well in a quote line."""
    text = _MD_LINK.sub(r"\1", markdown)
    return one_line(_MD_MARKS.sub(" ", text), limit)


def _cut_point(text: str, limit: int) -> int:
    """The best place to cut `text` at or before `limit`: paragraph, line, sentence, word."""
    window = text[:limit]
    floor = limit // 2  # never make a tiny chunk just to find a nicer boundary
    for separator in ("\n\n", "\n", ". ", " "):
        at = window.rfind(separator, floor)
        if at > 0:
            return at + len(separator)
    return limit


def split_markdown(text: str, limit: int = MARKDOWN_BLOCK_LIMIT) -> list[str]:
    """Split markdown into chunks of at most `limit` characters at safe boundaries.

    A code fence open at a cut is closed in its chunk and reopened in the next, so each
    chunk renders on its own."""
    if limit < 100:
        raise ValueError("limit too small to split markdown safely")
    chunks: list[str] = []
    rest = text.strip()
    reopen = ""
    while rest:
        rest = reopen + rest
        if len(rest) <= limit:
            chunks.append(rest)
            break
        budget = limit - 4  # room to close a fence: "\n```"
        cut = _cut_point(rest, budget)
        chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip("\n")
        fence = _open_fence(chunk)
        if fence is not None:
            chunk += "\n```"
            reopen = fence + "\n"
        else:
            reopen = ""
        chunks.append(chunk)
    return chunks


def _open_fence(chunk: str) -> str | None:
    """The opening line of a code fence left open at the end of `chunk`, if any."""
    opening: str | None = None
    for line in chunk.splitlines():
        if line.lstrip().startswith("```"):
            opening = None if opening is not None else line.strip()
    return opening
