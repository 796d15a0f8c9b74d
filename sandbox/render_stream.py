"""Pure: a message the app streamed (Slack's native stream, as the fake Slack keeps it) -> HTML
for the sandbox page, as Slack shows it: the plan's title, one row per task with its status
(an icon and the word), details and sources, the text written so far as markdown, then the
blocks the stream ended with (notes, footer, feedback buttons). Every string is escaped; a
source's link always shows its host (`render.source_link`)."""

from __future__ import annotations

import html
from typing import Any

from sandbox.fakes.slack import BOT_NAME, Message
from sandbox.fakes.slack_streams import Stream
from sandbox.render import Names, block, markdown, source_link, time_html

# A task_update's status: the icon and the words the row shows.
TASK_STATUS = {
    "pending": ("⚪", "Pending"),
    "in_progress": ("⏳", "In progress"),
    "complete": ("✅", "Complete"),
    "error": ("❌", "Error"),
}


def task_html(task: dict[str, Any]) -> str:
    """One task's row: icon, title, status, then its details and sources (plain text)."""
    status = str(task.get("status", ""))
    icon, word = TASK_STATUS.get(status, ("•", status))
    lines = "".join(
        f'<div class="task-{name}">{html.escape(str(task[name]))}</div>'
        for name in ("details", "output")
        if task.get(name)
    )
    sources = [
        source_link(str(s.get("url", "")), str(s.get("text") or ""))
        for s in task.get("sources") or []
        if isinstance(s, dict)
    ]
    if sources:
        lines += '<div class="task-sources">' + " ".join(sources) + "</div>"
    return (
        f'<div class="task" data-task="{html.escape(str(task.get("id", "")), quote=True)}" '
        f'data-status="{html.escape(status, quote=True)}">'
        f'<div class="task-head"><span class="task-icon" aria-hidden="true">{icon}</span>'
        f'<span class="task-title">{html.escape(str(task.get("title", "")))}</span>'
        f'<span class="task-status">{html.escape(word)}</span></div>{lines}</div>'
    )


def plan_html(stream: Stream) -> str:
    """The plan: its title and its tasks, in the order they first appeared."""
    if not stream.plan_title and not stream.tasks:
        return ""
    title = (
        f'<div class="plan-title">{html.escape(stream.plan_title)}</div>'
        if stream.plan_title
        else ""
    )
    tasks = "".join(task_html(task) for task in stream.tasks.values())
    mode = html.escape(stream.task_display_mode, quote=True)
    return f'<div class="plan {mode}">{title}{tasks}</div>'


def stream_html(message: Message, stream: Stream, names: Names | None = None) -> str:
    """A streamed message: author and time, plan, text, closing blocks; marked live while it
    streams."""
    names = names or {}
    live = stream.state == "streaming"
    # While it streams, the text ends with a cursor (as Slack shows text still being written).
    cursor = '<span class="cursor" aria-hidden="true"></span>' if live else ""
    text = (
        f'<div class="markdown">{markdown(stream.text, names)}{cursor}</div>'
        if stream.text.strip()
        else ""
    )
    closing = "".join(block(b, message, names) for b in stream.blocks)
    classes = "msg bot streamed" + (" live" if live else "")
    return (
        f'<div class="{classes}" id="m{html.escape(message.ts, quote=True)}" '
        f'data-state="{html.escape(stream.state, quote=True)}">'
        f'<div class="author">{html.escape(BOT_NAME)}{time_html(message.ts)}</div>'
        f"{plan_html(stream)}{text}{closing}</div>"
    )
