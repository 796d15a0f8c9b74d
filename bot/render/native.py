"""Pure rendering for Slack's native stream (the agent messages tab): a run's view -> the
plan's title, one `task_update` chunk per subtask, the streamed answer's text, the blocks a
stream ends with (notes, footer, feedback buttons) and the `chat.update` fallback for a
stream that expired.

Slack refuses a streamed message past roughly 10.6-11.3k characters of everything it shows:
`shown_size` counts it as Slack does, and `bot.render.text.STREAM_BUDGET` keeps well below it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextActionsBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    MarkdownBlock,
)
from slack_sdk.models.messages.chunk import MarkdownTextChunk, PlanUpdateChunk, TaskUpdateChunk

from bot.render import notes
from bot.render.answer_actions import answer_actions
from bot.render.kit import SlackMessage, context, fits, message, section
from bot.render.links import labelled, link_host
from bot.render.plan import CONTINUE_ACTION, DENSITIES, plan_block_id, subtask_block
from bot.render.text import (
    MESSAGE_BLOCKS_BUDGET,
    SESSION_TITLE_LIMIT,
    STREAM_DETAILS_CHARS,
    STREAM_SHORT_CHARS,
    STREAM_SOURCE_CHARS,
    STREAM_TASK_TITLE_CHARS,
    STREAM_TITLE_CHARS,
    inert_line,
    markdown_as_mrkdwn,
    mrkdwn_line,
    one_line,
    safe_markdown,
    truncate,
)
from pipeline.estimate import estimate_text
from pipeline.view import RunView, SubtaskState, SubtaskView
from pipeline.words import CUT_AT_DEADLINE

TaskStatus = Literal["pending", "in_progress", "complete", "error"]

FEEDBACK_ACTION = "orchestra_feedback"
TASK_SOURCES = 5  # links under a task; the answer's Sources list has them all

# Slack's task_update statuses are four: pending, in_progress, complete, error (slack_sdk's
# TaskUpdateChunk; @slack/types' `status`; docs.slack.dev, read 2026-12). A subtask stopped
# by a person (or paused for a restart) did not fail, so `error` (a red "Error") would say
# what did not happen; left `in_progress` it would spin after the stream ended, and `pending`
# would say it still waits. `complete` is the one settled status that is no failure: its
# details say it was stopped, and the plan's title says the run was cancelled or paused.
_TASK_STATUS: dict[SubtaskState, TaskStatus] = {
    "pending": "pending",
    "running": "in_progress",
    "retrying": "in_progress",
    "done": "complete",
    "failed": "error",
    "skipped": "error",
    "cancelled": "complete",
}


def task_details(sub: SubtaskView) -> str:
    """A subtask's status in words, as a plain-text line (its reason made inert)."""
    match sub.state:
        case "pending" | "running":
            return ""
        case "retrying":
            why = inert_line(sub.detail, STREAM_DETAILS_CHARS // 2)
            return f"retrying in {sub.wait_s:.0f}s (attempt {sub.attempt} failed: {why})"
        case "done":
            when = "done earlier (reused)" if sub.reused else f"done in {sub.elapsed_s:.1f}s"
            tokens = f"{sub.usage.total:,} tokens"
            return " · ".join(part for part in (when, tokens, sub.web) if part)
        case "failed" | "skipped":
            return f"{sub.state}: {inert_line(sub.detail, STREAM_DETAILS_CHARS)}"
        case "cancelled":
            if sub.detail == CUT_AT_DEADLINE:
                return CUT_AT_DEADLINE  # said whatever else is cut: why it is missing
            return notes.TASK_STOPPED if sub.started_at is not None else notes.TASK_NOT_STARTED


def _source(url: str, title: str) -> dict[str, Any] | None:
    host = link_host(url)
    if host is None:  # only http(s) links are shown; the rest are words in the answer
        return None
    # The title is cut, never the host: every link shows where it goes.
    room = max(0, STREAM_SOURCE_CHARS - len(host) - 3)
    text = inert_line(labelled(one_line(title, room) if room else "", host), 1000)
    return {"type": "url", "url": url, "text": text}


def task_chunk(sub: SubtaskView) -> dict[str, Any]:
    """One subtask as a `task_update` chunk: its role, live status, details and sources."""
    sources = [s for s in (_source(x.url, x.title) for x in sub.sources) if s][:TASK_SOURCES]
    chunk = TaskUpdateChunk(
        id=sub.id,
        title=inert_line(sub.role, STREAM_TASK_TITLE_CHARS) or sub.id,
        status=_TASK_STATUS[sub.state],
        details=truncate(task_details(sub), STREAM_DETAILS_CHARS) or None,
        sources=sources or None,
    )
    return chunk.to_dict()


def plan_chunk(title: str) -> dict[str, Any]:
    """The plan's title as a `plan_update` chunk."""
    return PlanUpdateChunk(title=title).to_dict()


def shortened(chunk: dict[str, Any]) -> dict[str, Any]:
    """A plan or task chunk Slack refused, as it is sent once more before it is dropped: its
    title and details cut short, no output, no sources (whatever Slack disliked, less of it)."""
    short = {k: v for k, v in chunk.items() if k not in ("output", "sources")}
    for name in ("title", "details"):
        if isinstance(short.get(name), str):
            short[name] = truncate(short[name], STREAM_SHORT_CHARS) or "…"
    return short


def thread_title(view: RunView) -> str:
    """What the DM thread and its agent session are called in the agent's History: the goal
    (else Slack shows "Chats from <date>")."""
    # The word joiners `inert_line` adds come on top of its limit: cut again.
    return truncate(inert_line(view.goal, SESSION_TITLE_LIMIT), SESSION_TITLE_LIMIT)


def text_chunk(text: str) -> dict[str, Any]:
    """Streamed answer text (markdown, made safe by `render`)."""
    return MarkdownTextChunk(text=text).to_dict()


def plan_title(view: RunView, stop_phase: str = "") -> str:
    """What the streamed plan is called now: the goal while it runs, then how it ended."""
    match view.phase:
        case "planning" | "running":
            # The estimate, before subagents start (issue 22.4): the stream has no other
            # line above its tasks, and the goal is cut first to keep it whole.
            figure = f" \u00b7 {estimate_text(view.estimate)}" if view.estimate else ""
            room = STREAM_TITLE_CHARS - len(figure)
            return truncate(notes.researching(inert_line(view.goal, room)), room) + figure
        case "integrating":
            return notes.PLAN_WRITING
        case "finished":
            counts = Counter(sub.state for sub in view.subtasks.values())
            if cut_at_deadline(view):  # how it ended, as a channel's plan header says it
                return notes.finished_at_deadline(counts["done"], counts["cancelled"])
            return notes.finished(counts["done"], counts["failed"], counts["skipped"])
        case "failed":
            return notes.PLAN_FAILED
        case "cancelled":
            return stop_phase or "Cancelled."


def shown_size(title: str, tasks: Sequence[dict[str, Any]], text: str) -> int:
    """How much a streamed message shows, as Slack counts it against its cap (UTF-8 bytes,
    never fewer than characters): the plan title, each task's title, status, details and
    output, and the text."""
    lines = [title] if title else []
    for task in tasks:
        lines.append(f"{task['title']} [{task['status']}]")
        lines += [str(task[k]) for k in ("details", "output") if task.get(k)]
    lines.append(text)
    return len("\n".join(lines).encode())


def render(text: str) -> str:
    """An answer's markdown as it may be streamed (`safe_markdown`: no live mention, no
    disguised link)."""
    return safe_markdown(text)


def streamable(text: str) -> int:
    """How much of a growing answer can be shown now: up to its last whitespace, so a word,
    a link or a mention is never shown half written (its rendering could still change)."""
    cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
    return cut + 1 if cut >= 0 else 0


def feedback_block(run_id: str) -> dict[str, Any]:
    """Feedback buttons under an answer (their value names the run)."""
    return ContextActionsBlock(
        elements=[
            FeedbackButtonsElement(
                action_id=FEEDBACK_ACTION,
                positive_button=FeedbackButtonObject(
                    text=notes.FEEDBACK_GOOD, value=f"good:{run_id}"
                ),
                negative_button=FeedbackButtonObject(
                    text=notes.FEEDBACK_BAD, value=f"bad:{run_id}"
                ),
            )
        ]
    ).to_dict()


def closing_blocks(
    lines: Sequence[str],
    run_id: str | None,
    continue_run: str | None = None,
    follow_ups: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """What a stream ends with: context lines (safe mrkdwn: notes, the footer), Continue for
    a run with subtasks cut at the deadline (`continue_run`), and, for an answer (`run_id`),
    Download (.md) with the suggested `follow_ups`, and feedback buttons."""
    blocks = [context(line).to_dict() for line in lines if line]
    if continue_run:
        blocks.append(continue_block(continue_run))
    if run_id:
        blocks += [answer_actions(run_id, follow_ups).to_dict(), feedback_block(run_id)]
    return blocks


def cut_at_deadline(view: RunView) -> bool:
    """Whether the deadline cut any of the run's subtasks (then it can be continued)."""
    return any(sub.detail == CUT_AT_DEADLINE for sub in view.subtasks.values())


def continue_block(run_id: str) -> dict[str, Any]:
    """The Continue button (issue 22.1): the stream's own message, like a plan message,
    carries it, so a click is checked against the run's message as in a channel."""
    button = ButtonElement(text="Continue", action_id=CONTINUE_ACTION, value=run_id)
    return ActionsBlock(block_id=plan_block_id(run_id), elements=[button]).to_dict()


def with_feedback(messages: list[SlackMessage], run_id: str) -> list[SlackMessage]:
    """`messages` with feedback buttons under the last one (when they fit in it)."""
    if not messages:
        return messages
    last = messages[-1]
    extended = SlackMessage(last.text, [*last.blocks, feedback_block(run_id)])
    return [*messages[:-1], extended] if fits(extended) else messages


def fallback_message(
    view: RunView, title: str, markdown: str, closing: Sequence[dict[str, Any]] = ()
) -> SlackMessage | None:
    """A stream that expired, as one ordinary message: the plan (title, one entry per
    subtask) and `markdown` (already safe), then `closing`; None when it does not fit."""
    if len(markdown) > MESSAGE_BLOCKS_BUDGET:
        return None  # (a markdown block past 12,000 characters cannot even be built)
    head: list[Block] = [section(f":clipboard: *{mrkdwn_line(title, STREAM_TITLE_CHARS)}*")]
    entries = [subtask_block(sub, DENSITIES[2]) for sub in view.subtasks.values()]
    body: list[Block] = [MarkdownBlock(text=markdown)] if markdown.strip() else []
    rendered = message(
        markdown_as_mrkdwn(markdown)
        if markdown.strip()
        else mrkdwn_line(title, STREAM_TITLE_CHARS),
        head + entries + body,
    )
    whole = SlackMessage(rendered.text, [*rendered.blocks, *closing])
    return whole if fits(whole) else None


def plan_only_message(view: RunView, title: str, note: str) -> SlackMessage:
    """The plan alone (title, entries at the most compact density) and a note: the fallback
    when the answer does not fit beside it."""
    head: list[Block] = [section(f":clipboard: *{mrkdwn_line(title, STREAM_TITLE_CHARS)}*")]
    entries = [subtask_block(sub, DENSITIES[-1]) for sub in view.subtasks.values()]
    rendered = message(mrkdwn_line(title, STREAM_TITLE_CHARS), [*head, *entries, context(note)])
    if fits(rendered):
        return rendered
    return message(mrkdwn_line(title, STREAM_TITLE_CHARS), [*head, context(note)])
