"""Markdown structure every display needs: which code fence is open where."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_FENCE_TICKS = 10  # a longer backtick run is text here: its close would not fit a chunk
MAX_INFO = 20  # a fence's language tag is kept when reopened only if this short

_OPENING = re.compile(r"\s*+(`{3,})([^`]*)")
_CLOSING = re.compile(r"\s*+(`{3,})\s*")


@dataclass(frozen=True)
class Fence:
    """A code fence open at some point: enough to close it and to reopen it."""

    ticks: int
    info: str

    @property
    def reopen(self) -> str:
        """The line that reopens this fence in the next chunk."""
        return "`" * self.ticks + self.info + "\n"

    @property
    def close(self) -> str:
        """What closes this fence at the end of a chunk."""
        return "\n" + "`" * self.ticks


def fence_after(text: str, fence: Fence | None = None) -> Fence | None:
    """The fence still open after `text`, read line by line from state `fence`.

    The model: a line of 3 to MAX_FENCE_TICKS backticks (after any indentation) and an info
    string without backticks opens a fence; while open, a line of at least as many backticks
    and nothing else closes it. CommonMark's rule, but for the indentation limit, which list
    items make unreliable."""
    for line in text.split("\n"):
        if fence is None:
            opening = _OPENING.fullmatch(line)
            if opening and len(opening.group(1)) <= MAX_FENCE_TICKS:
                words = opening.group(2).split()
                info = words[0] if words and len(words[0]) <= MAX_INFO else ""
                fence = Fence(len(opening.group(1)), info)
        else:
            closing = _CLOSING.fullmatch(line)
            if closing and len(closing.group(1)) >= fence.ticks:
                fence = None
    return fence
