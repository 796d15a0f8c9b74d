"""The Sources list that ends an answer: every display (Slack, the terminal) shows this one."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence

from pipeline.llm import Source
from pipeline.markdown import fence_after

SOURCES_HEADING = "**Sources**"
TITLE_CHARS = 200  # a page title longer than this is a paragraph, not a title

# Characters that would end a markdown link's label or destination early.
_LABEL_SPECIAL = re.compile(r"([\\\[\]])")
_DEST_SPECIAL = re.compile(r"[()<>\s]")


def source_link(source: Source) -> str:
    """One source as a markdown link; its title (or its URL) is the label."""
    title = " ".join(source.title.split())[:TITLE_CHARS] or " ".join(source.url.split())
    label = _LABEL_SPECIAL.sub(r"\\\1", title)
    dest = _DEST_SPECIAL.sub(lambda m: urllib.parse.quote(m.group()), source.url)
    return f"[{label}]({dest})"


def sources_markdown(sources: Sequence[Source]) -> str:
    """The numbered list (source n is `[n]` in the answer); "" when there are none."""
    if not sources:
        return ""
    lines = [f"{n}. {source_link(s)}" for n, s in enumerate(sources, start=1)]
    return "\n".join([SOURCES_HEADING, *lines])


def with_sources(answer: str, sources: Sequence[Source]) -> str:
    """The answer followed by its Sources list (outside any code block the answer left open)."""
    listed = sources_markdown(sources)
    if not listed:
        return answer
    answer = answer.rstrip()
    fence = fence_after(answer)
    return f"{answer}{fence.close if fence else ''}\n\n{listed}"
