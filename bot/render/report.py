"""Pure rendering of a run's report beyond its thread: the canvas (title, markdown), the thread
message that opens it, and the Markdown file of **Download (.md)**.

A canvas takes markdown up to 1 MiB with headings and tables (canvases.create); the thread
message keeps the answer's opening, cut at a sentence, within a section's 3,000 characters."""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, MarkdownBlock

from bot.render import notes
from bot.render.answer_actions import DOWNLOAD_ACTION as DOWNLOAD_ACTION
from bot.render.answer_actions import answer_actions
from bot.render.kit import SlackMessage, context, message, section
from bot.render.messages import WRITING_BLOCK_ID, cut_note, failed_note, footer
from bot.render.text import (
    CANVAS_TITLE_CHARS,
    FILE_NAME_CHARS,
    OPENING_CHARS,
    escape,
    markdown_as_mrkdwn,
    one_line,
    safe_markdown,
    safe_markdown_with_sources,
)
from pipeline import RunResult, Source, not_included
from pipeline.markdown import fence_after
from pipeline.report import report_markdown

# A sentence ends at . ! ? or … (closing quotes, brackets and emphasis marks stay with it)
# followed by whitespace; a paragraph ends at a blank line.
_SENTENCE_END = re.compile("[.!?\u2026][\"'\u201d\u2019)\\]*_]*(?=\\s)|\n\\s*\n")


def _cut_at_sentence(text: str, limit: int) -> int:
    """Where the opening ends within `text[:limit]`: the last sentence or paragraph end in
    its last three quarters, else the last whitespace, else `limit`."""
    window = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() >= limit // 4]
    if ends:
        return ends[-1]
    space = max(window.rfind(" "), window.rfind("\n"))
    return space if space > 0 else limit


def opening(text: str, limit: int = OPENING_CHARS) -> str:
    """The answer's opening: all of `text` if it fits `limit`, else its start up to the last
    sentence end that fits (a code block open there closed), never longer than `limit`."""
    text = text.strip()
    if len(text) <= limit:
        return text
    budget = limit
    while budget > 0:
        part = text[: _cut_at_sentence(text, budget)].rstrip()
        fence = fence_after(part)
        if fence is not None:
            part = part.rstrip() + fence.close
        if len(part) <= limit:
            return part
        budget -= len(part) - limit
    return ""


def canvas_title(goal: str) -> str:
    """The canvas's title: the goal on one line."""
    return one_line(goal, CANVAS_TITLE_CHARS) or "Research report"


def canvas_markdown(result: RunResult) -> str:
    """The whole answer and its Sources list, made safe as for a markdown block (canvases
    honour Slack's `<…>` sequences and mentions too): headings, tables and `[n]` intact."""
    whole = safe_markdown_with_sources(result.answer, result.sources).strip()
    notes_ = [n for n in (result.answer_cut, not_included(result)) if n]
    return "\n\n".join([whole, *(f"_{safe_markdown(n)}_" for n in notes_)])


def canvas_pending_message(text: str) -> SlackMessage:
    """The thread's answer message once the answer outgrew it: its opening, and that the
    rest continues in a canvas (marked as being written, for `bot.thread.leftovers`)."""
    start = safe_markdown(opening(text))
    blocks: list[Block] = [
        MarkdownBlock(text=start),
        context(notes.CANVAS_COMING, block_id=WRITING_BLOCK_ID),
    ]
    return message(markdown_as_mrkdwn(start), blocks)


def link_label(title: str) -> str:
    # A mrkdwn link's label ends at `|` or `>`: escaped, and no `|` in it.
    return escape(one_line(title, 80)).replace("|", "\u00a6")


def canvas_answer_message(
    result: RunResult, link: str, title: str, how: notes.CanvasHow
) -> SlackMessage:
    """The answer's one thread message when a canvas holds it: the opening, the canvas's
    link (and whether it is new or updated), the notes and the footer."""
    start = safe_markdown(opening(result.answer))
    words = notes.canvas_link(link, link_label(title), how)
    tail = [note for note in (cut_note(result), failed_note(result), footer(result)) if note]
    blocks: list[Block] = [MarkdownBlock(text=start), section(words)]
    blocks += [context(t) for t in tail]
    blocks.append(answer_actions(result.run_id, result.follow_ups))
    return message(f"{markdown_as_mrkdwn(start)[:2000]}\n\n{words}", blocks)


def download_actions(run_id: str) -> ActionsBlock:
    """The **Download (.md)** button alone under a finished run's answer."""
    return answer_actions(run_id)


def report_file(goal: str, answer: str, sources: Sequence[Source], footer_line: str) -> str:
    """The Markdown file of Download (.md): the goal as its heading, the answer, its Sources
    list and the run's figures (the CLI's `--out` writes the same file)."""
    return report_markdown(goal, answer, sources, footer_line)


def report_filename(goal: str) -> str:
    """A file name from the goal: lower-case words joined by dashes, then `.md`."""
    words = re.findall(r"[a-z0-9]+", goal.lower())
    stem = "-".join(words)[:FILE_NAME_CHARS].strip("-")
    return f"{stem or 'report'}.md"
