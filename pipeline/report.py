"""A run's report as one Markdown file: what Slack's **Download (.md)** uploads and the CLI's
`--out report.md` writes (issue 23.2, 23.5)."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.llm import Source
from pipeline.markdown import fence_after
from pipeline.sources import sources_markdown

GOAL_HEADING_CHARS = 300


def report_markdown(goal: str, answer: str, sources: Sequence[Source], footer_line: str) -> str:
    """The goal as its heading (one line), the answer, its Sources list and the run's figures.
    A file is not rendered by Slack: the text stays as written (a code block the answer left
    open is closed, so the Sources list is not swallowed by it)."""
    heading = " ".join(goal.split())[:GOAL_HEADING_CHARS]
    parts = [f"# {heading}", answer.strip() or "_(No answer.)_"]
    listed = sources_markdown(sources)
    if listed:
        fence = fence_after(parts[1])
        if fence is not None:
            parts[1] += fence.close
        parts.append(listed)
    if footer_line:
        parts.append(f"---\n{footer_line}")
    return "\n\n".join(parts) + "\n"
