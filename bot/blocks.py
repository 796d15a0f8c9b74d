"""Pure rendering: a run's view -> Block Kit messages (slack_sdk models, within limits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack_text import (
    MARKDOWN_BLOCK_LIMIT,
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    defuse_mentions,
    escape,
    one_line,
    plain_preview,
    split_markdown,
    truncate,
)
from pipeline import RunResult
from pipeline.view import RunView, SubtaskView

CANCEL_ACTION = "orchestra_cancel"
OUTPUT_ACTION = "orchestra_output"
PREVIEW_CHARS = 280

_STATUS_ICON = {
    "pending": ":hourglass_flowing_sand:",
    "running": ":arrows_counterclockwise:",
    "retrying": ":repeat:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "skipped": ":fast_forward:",
    "cancelled": ":black_square_for_stop:",
}


@dataclass(frozen=True)
class SlackMessage:
    """What one chat.postMessage / chat.update carries."""

    text: str  # the notification fallback, always under Slack's text limit
    blocks: list[dict[str, Any]]


def _message(text: str, blocks: list[Block]) -> SlackMessage:
    return SlackMessage(truncate(text, MESSAGE_TEXT_LIMIT - 1), [b.to_dict() for b in blocks])


def _section(mrkdwn: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(mrkdwn, SECTION_TEXT_LIMIT)))


def _context(mrkdwn: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(mrkdwn, SECTION_TEXT_LIMIT))])


def status_line(sub: SubtaskView) -> str:
    """The live status of one subtask, in words."""
    match sub.state:
        case "pending":
            return "pending"
        case "running":
            return "running…"
        case "retrying":
            return (
                f"retrying in {sub.wait_s:.0f}s (attempt {sub.attempt} failed: "
                f"{one_line(sub.detail, 120)})"
            )
        case "done":
            return f"done in {sub.elapsed_s:.1f}s · {sub.usage.total:,} tokens"
        case "failed":
            return f"failed: {one_line(sub.detail, 160)}"
        case "skipped":
            return f"skipped: {one_line(sub.detail, 160)}"
        case "cancelled":
            return "cancelled"


def subtask_block(sub: SubtaskView) -> SectionBlock:
    """One plan entry: icon, id, role, status and (when done) a preview of the output."""
    lines = [
        f"{_STATUS_ICON[sub.state]} *{escape(sub.id)}* · {escape(one_line(sub.role, 200))}",
        f"_{escape(status_line(sub))}_",
    ]
    if sub.state == "done" and sub.output:
        lines.append(f"> {escape(plain_preview(sub.output, PREVIEW_CHARS))}")
    return _section("\n".join(lines))


def plan_message(view: RunView, *, cancel_note: str = "") -> SlackMessage:
    """The plan message: goal, one live entry per subtask, Cancel while live."""
    blocks: list[Block] = []
    if view.plan is None:
        head = f":brain: *Planning…* {escape(one_line(view.goal, 500))}"
        if view.finished:
            head = f":brain: *No plan.* {escape(one_line(view.goal, 500))}"
        blocks.append(_section(head))
    else:
        blocks.append(_section(f":clipboard: *Plan:* {escape(one_line(view.plan.goal, 500))}"))
        blocks.extend(subtask_block(sub) for sub in view.subtasks.values())
    phase = _phase_line(view, cancel_note)
    if phase:
        blocks.append(_context(phase))
    buttons: list[ButtonElement] = []
    if not view.finished:
        buttons.append(
            ButtonElement(text="Cancel", action_id=CANCEL_ACTION, value=view.run_id, style="danger")
        )
    buttons += [
        ButtonElement(
            text=truncate(f"Full output: {sub.id}", 75),
            action_id=f"{OUTPUT_ACTION}:{sub.id}",
            value=f"{view.run_id}:{sub.id}",
        )
        for sub in view.subtasks.values()
        if sub.state == "done"
    ][:24]
    if buttons:
        blocks.append(ActionsBlock(block_id=f"run:{view.run_id}", elements=buttons))
    done = sum(1 for s in view.subtasks.values() if s.state == "done")
    text = f"Plan for: {escape(one_line(view.goal, 300))} ({done}/{len(view.subtasks)} done)"
    return _message(text, blocks)


def _phase_line(view: RunView, cancel_note: str) -> str:
    match view.phase:
        case "planning":
            return f"Planning the work… {escape(view.notice)}".strip()
        case "running":
            return escape(view.notice)
        case "integrating":
            return f"Writing the answer… {escape(view.notice)}".strip()
        case "finished":
            return "Finished."
        case "failed":
            return "Stopped: see the message below."
        case "cancelled":
            return cancel_note or "Cancelled."


def footer(result: RunResult) -> str:
    """Wall time, subtasks done/failed, tokens and estimated cost."""
    cost = "cost unknown" if result.cost_usd is None else f"≈ ${result.cost_usd:.4f}"
    total = len(result.outcomes)
    parts = [
        f":stopwatch: {result.elapsed_s:.1f}s",
        f"{result.done_count}/{total} subtasks done",
        f"{result.usage.total_input:,} tokens in / {result.usage.output_tokens:,} out",
        cost,
    ]
    return " · ".join(parts)


def failed_note(result: RunResult) -> str:
    """Which subtasks are missing from the answer, by role."""
    if result.plan is None or not result.failed_subtasks:
        return ""
    tasks = result.plan.by_id()
    names = [
        f"{escape(one_line(tasks[i].role, 80))} ({result.outcomes[i].status})"
        for i in result.failed_subtasks
    ]
    return ":warning: Not included: " + "; ".join(names)


def answer_messages(result: RunResult) -> list[SlackMessage]:
    """The integrated answer as markdown blocks over as many messages as it needs."""
    chunks = split_markdown(defuse_mentions(result.answer), MARKDOWN_BLOCK_LIMIT)
    messages = []
    for index, chunk in enumerate(chunks, start=1):
        blocks: list[Block] = [MarkdownBlock(text=chunk)]
        if index == len(chunks):
            note = failed_note(result)
            if note:
                blocks.append(_context(note))
            blocks.append(_context(footer(result)))
        elif len(chunks) > 1:
            blocks.append(_context(f"Part {index} of {len(chunks)}"))
        messages.append(_message(chunk, blocks))
    return messages


def output_messages(sub_id: str, role: str, output: str) -> list[SlackMessage]:
    """A subtask's full output, on demand, split like the answer."""
    title = f"*Full output of {escape(sub_id)}* · {escape(one_line(role, 200))}"
    chunks = split_markdown(defuse_mentions(output) or "(empty)", MARKDOWN_BLOCK_LIMIT)
    return [
        _message(
            chunk,
            [_section(title), MarkdownBlock(text=chunk)] if i == 0 else [MarkdownBlock(text=chunk)],
        )
        for i, chunk in enumerate(chunks)
    ]


def error_message(result: RunResult) -> SlackMessage:
    """A failed run: what happened, in a sentence, with the run id for support."""
    text = escape(f":warning: {result.error or 'The run failed.'}")
    blocks: list[Block] = [_section(text)]
    blocks.append(_context(f"Run `{result.run_id}` · {footer(result)}"))
    return _message(text, blocks)


def _texts(block: dict[str, Any]) -> list[str]:
    text = block.get("text")
    if isinstance(text, str):
        return [text]
    if isinstance(text, dict):
        return [str(text.get("text", ""))]
    return [str(e.get("text", "")) for e in block.get("elements") or [] if isinstance(e, dict)]


def plain_messages(message: SlackMessage) -> list[SlackMessage]:
    """The same content as text-only messages of at most a section's size.

    The fallback for when Slack refuses a message's blocks (`msg_too_long`,
    `invalid_blocks`): its limits can be stricter than documented, and the answer must land."""
    whole = "\n\n".join(t for b in message.blocks for t in _texts(b) if t) or message.text
    return [SlackMessage(chunk, []) for chunk in split_markdown(whole, SECTION_TEXT_LIMIT)]


def notice_message(text: str) -> SlackMessage:
    """A one-section message (cancelled, interrupted, a hint)."""
    return _message(text, [_section(text)])


def request_message(user_id: str, goal: str) -> SlackMessage:
    """The root message in the channel: who asked for what."""
    text = f":mag: <@{user_id}> asked Orchestra to research: {escape(one_line(goal, 2500))}"
    return _message(text, [_section(text), _context("The run happens in this thread.")])
