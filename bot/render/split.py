"""Splitting long markdown or mrkdwn into chunks that each fit a limit and render on their own.

One forward pass over the text: each chunk is cut at the best boundary in the second half of
its room (paragraph, line, sentence, word, else anywhere that splits no character, entity or
`<…>` sequence), so every chunk consumes at least a quarter of the limit and the whole split
costs time linear in the text. A code fence open at a cut is closed in its chunk and reopened
at the start of the next with a short marker (never the whole opening line, which may be as
long as the limit: reopening it whole was how the splitter once looped forever).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.markdown import MAX_FENCE_TICKS, fence_after

MIN_LIMIT = 100

_GUARD = "\u2060"  # WORD JOINER: not whitespace, so a line starting with it opens no fence
_FENCE_LIKE = re.compile(r"[ \t]*+```")
_ENTITY = re.compile(r"&#?\w{1,8};")
_SEPARATORS = ("\n\n", "\n", ". ", " ")
_MAX_SPAN = 2000  # a `<…>` sequence longer than this may be cut (it is not one of ours)


@dataclass(frozen=True)
class Chunk:
    """One chunk: a slice of the input between the fence lines added to make it whole."""

    reopen: str  # "" or a fence line reopening the code block cut at the previous chunk (and
    # a word joiner when the cut fell inside a line that goes on with backticks)
    body: str  # a slice of the (stripped) input
    close: str  # "" or the fence line closing a code block left open

    @property
    def text(self) -> str:
        """What is posted."""
        return self.reopen + self.body + self.close


def split_chunks(text: str, limit: int) -> list[Chunk]:
    """`text` (stripped) as chunks of at most `limit` characters, fences balanced in each.

    Joining the bodies gives the stripped input back, up to whitespace dropped at the cuts."""
    if limit < MIN_LIMIT:
        raise ValueError("limit too small to split markdown safely")
    text = text.strip()
    reserve = 1 + MAX_FENCE_TICKS  # room for any closing fence line
    chunks: list[Chunk] = []
    pos, fence = 0, None
    while pos < len(text):
        guard = line_guard(text, pos)
        reopen = (fence.reopen if fence else "") + guard
        if len(reopen) + len(text) - pos <= limit:
            body = text[pos:]
            after = fence_after(guard + body, fence)
            close = after.close if after else ""
            if len(reopen) + len(body) + len(close) <= limit:
                chunks.append(Chunk(reopen, body, close))
                break
        room = limit - len(reopen) - reserve
        cut = _cut(text, pos, room)
        body = text[pos:cut].rstrip()
        if body.strip():
            after = fence_after(guard + body, fence)
            chunks.append(Chunk(reopen, body, after.close if after else ""))
            fence = after
        pos = cut
        while pos < len(text) and text[pos] == "\n":
            pos += 1
    return chunks


def line_guard(text: str, pos: int) -> str:
    """What must go before `text[pos:]` when it is posted apart from what came before.

    A cut inside a line makes the rest start a line of its own: backticks there would open
    (or close) a code block the text never had, so a word joiner keeps them text."""
    if pos and text[pos - 1] != "\n" and _FENCE_LIKE.match(text, pos):
        return _GUARD
    return ""


def _cut(text: str, pos: int, room: int) -> int:
    """Where to end the chunk starting at `pos`: an index in (pos, pos + room]."""
    end = pos + room
    floor = pos + room // 2  # never make a tiny chunk just to find a nicer boundary
    for separator in _SEPARATORS:
        at = text.rfind(separator, floor, end)
        if at >= 0:
            return _outside_spans(text, pos + room // 4, at + len(separator), room)
    return _outside_spans(text, pos + room // 4, _between_characters(text, pos, end), room)


def _outside_spans(text: str, floor: int, cut: int, room: int) -> int:
    """`cut`, moved back to the start of an entity or `<…>` sequence it would split."""
    amp = text.rfind("&", max(floor, cut - 9), cut)
    if amp >= 0:
        entity = _ENTITY.match(text, amp)
        if entity and entity.end() > cut:
            cut = amp
    span = min(_MAX_SPAN, room)  # bounded look-around keeps the whole split linear
    opening = text.rfind("<", max(floor, cut - span), cut)
    if opening >= 0 and text.rfind(">", opening, cut) < 0:
        closing = text.find(">", cut, opening + span)
        if closing >= 0 and "<" not in text[cut:closing] and "\n" not in text[opening:closing]:
            cut = opening
    if cut - 1 > floor and text[cut - 1] == "\\":
        cut -= 1  # keep a markdown backslash escape with the character it escapes
    return cut


def _between_characters(text: str, pos: int, cut: int) -> int:
    """`cut`, moved back (a little) so that it splits no user-perceived character."""
    for candidate in range(cut, max(pos, cut - 16), -1):
        if not joins(text, candidate):
            return candidate
    return cut


def joins(text: str, i: int) -> bool:
    """True if a cut before `text[i]` would split a character (emoji sequence, accent)."""
    if i <= 0 or i >= len(text):
        return False
    before, after = text[i - 1], text[i]
    return (
        before == "\u200d"
        or after == "\u200d"
        or unicodedata.category(after) in ("Mn", "Mc", "Me")
        or "\ufe00" <= after <= "\ufe0f"
        or "\U0001f3fb" <= after <= "\U0001f3ff"  # skin tones
        or "\U000e0020" <= after <= "\U000e007f"  # tag sequences (subdivision flags)
        or (before == "\r" and after == "\n")
    )
