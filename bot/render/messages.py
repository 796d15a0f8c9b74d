"""Pure rendering: a run's view -> Block Kit messages (slack_sdk models, within limits).

Every piece of model or user text goes through `bot.render.text` (`safe_mrkdwn`,
`mrkdwn_line`, `safe_markdown`) before it reaches a block, and every message keeps the text
of its blocks within `MESSAGE_BLOCKS_BUDGET`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, MarkdownBlock

from bot.render.answer_actions import answer_actions, answered
from bot.render.kit import SlackMessage, block_text_chars, context, message, section
from bot.render.plan import (
    APPROVE_ACTION,
    CANCEL_ACTION,
    CONTINUE_ACTION,
    EDIT_ACTION,
    OUTPUT_ACTION,
    RERUN_ACTION,
    RETRY_ACTION,
    plan_message,
    review_message,
    status_line,
    subtask_block,
)
from bot.render.text import (
    FAILED_NOTE_CHARS,
    MARKDOWN_BLOCK_LIMIT,
    MESSAGE_BLOCKS_BUDGET,
    PART_LABEL_CHARS,
    SECTION_TEXT_LIMIT,
    STREAM_PART_CHARS,
    escape,
    markdown_as_mrkdwn,
    mrkdwn_line,
    safe_markdown,
    safe_markdown_with_sources,
    safe_mrkdwn,
    split_markdown,
    truncate,
)
from pipeline import RunResult, Source, footer_parts, not_included

__all__ = [
    "APPROVE_ACTION",
    "CANCEL_ACTION",
    "CONTINUE_ACTION",
    "EDIT_ACTION",
    "OUTPUT_ACTION",
    "RERUN_ACTION",
    "RETRY_ACTION",
    "SlackMessage",
    "answer_messages",
    "answer_part_chunks",
    "answer_part_message",
    "block_text_chars",
    "cut_note",
    "error_message",
    "failed_note",
    "footer",
    "notice_message",
    "output_messages",
    "plain_messages",
    "plan_message",
    "request_message",
    "review_message",
    "status_line",
    "subtask_block",
]


def footer(result: RunResult) -> str:
    """Wall time, subtasks done, tokens, web searches and estimated cost."""
    return ":stopwatch: " + " · ".join(footer_parts(result))


def cut_note(result: RunResult) -> str:
    """Why the answer is not whole, under it ("" when it is): never read as complete."""
    return f":scissors: {safe_mrkdwn(result.answer_cut)}" if result.answer_cut else ""


def failed_note(result: RunResult) -> str:
    """Which subtasks are missing from the answer, by role (mrkdwn, escaped)."""
    missing = not_included(result, lambda role: mrkdwn_line(role, 80))
    return truncate(f":warning: {missing}", FAILED_NOTE_CHARS) if missing else ""


def answer_messages(result: RunResult, text: str | None = None) -> list[SlackMessage]:
    """The integrated answer (or `text`, the part of it not shown yet) and its Sources list as
    markdown blocks over as many messages as it needs, the notes and footer last.

    Each message's blocks (a chunk plus its footer or part label) stay within the budget, so
    Slack never refuses one for its size; the `text` fallback links only with visible hosts."""
    tail = [note for note in (cut_note(result), failed_note(result), footer(result)) if note]
    room = MESSAGE_BLOCKS_BUDGET - max(sum(len(t) for t in tail), PART_LABEL_CHARS)
    # A finished answer ends with its buttons: Download (.md) and the follow-ups.
    actions = [answer_actions(result.run_id, result.follow_ups)] if answered(result) else []
    room -= block_text_chars([a.to_dict() for a in actions])
    answer = result.answer if text is None else text
    empty = text is None and not answer.strip()
    whole = "" if empty else safe_markdown_with_sources(answer, result.sources).strip()
    chunks = split_markdown(whole, min(MARKDOWN_BLOCK_LIMIT, room))
    if not chunks and text is not None:  # all of it is shown already: the notes alone
        return [message(tail[-1], [*(context(t) for t in tail), *actions])]
    chunks = chunks or ["_(The answer was empty.)_"]
    messages = []
    for index, chunk in enumerate(chunks, start=1):
        blocks: list[Block] = [MarkdownBlock(text=chunk)]
        if index == len(chunks):
            blocks += [context(t) for t in tail]
            blocks += actions
        else:
            blocks.append(context(f"Part {index} of {len(chunks)}"))
        messages.append(message(markdown_as_mrkdwn(chunk), blocks))
    return messages


WRITING_NOTE = "_Writing…_"
# Marks an answer part still being written, so that a resumed run can find one that an
# interrupted attempt posted but could not record (`bot.thread.leftovers`).
WRITING_BLOCK_ID = "orchestra-writing"


def answer_part_chunks(text: str) -> list[str]:
    """Part of the answer as the chunks its rendering needs (one when it fits a message)."""
    return split_markdown(safe_markdown(text), STREAM_PART_CHARS)


def answer_part_message(chunk: str, *, writing: bool) -> SlackMessage:
    """One part of an answer that is still being written (`writing`: more is coming here)."""
    blocks: list[Block] = [MarkdownBlock(text=chunk)]
    if writing:
        blocks.append(context(WRITING_NOTE, block_id=WRITING_BLOCK_ID))
    return message(markdown_as_mrkdwn(chunk), blocks)


def output_messages(
    sub_id: str, role: str, output: str, sources: Sequence[Source] = ()
) -> list[SlackMessage]:
    """A subtask's full output and its sources, on demand, split like the answer."""
    title = f"*Full output of {escape(sub_id)}* · {mrkdwn_line(role, 200)}"
    room = MESSAGE_BLOCKS_BUDGET - len(title)
    whole = safe_markdown_with_sources(output, sources) if output.strip() else ""
    chunks = split_markdown(whole, min(MARKDOWN_BLOCK_LIMIT, room))
    chunks = chunks or ["(empty)"]
    return [
        message(
            markdown_as_mrkdwn(chunk),
            [section(title), MarkdownBlock(text=chunk)] if i == 0 else [MarkdownBlock(text=chunk)],
        )
        for i, chunk in enumerate(chunks)
    ]


def error_message(result: RunResult) -> SlackMessage:
    """A failed run: what happened, in a sentence, with the run id for support."""
    text = f":warning: {safe_mrkdwn(result.error or 'The run failed.')}"
    blocks: list[Block] = [section(text)]
    blocks.append(context(f"Run `{escape(result.run_id)}` · {footer(result)}"))
    return message(text, blocks)


def _plain_texts(block: dict[str, Any]) -> list[str]:
    """A block's words as mrkdwn; buttons are left out (they do nothing in plain text)."""
    text = block.get("text")
    if block.get("type") == "markdown":
        return [markdown_as_mrkdwn(str(text or ""))]
    objects = [text] if isinstance(text, dict) else []
    if block.get("type") == "context":
        objects = [e for e in block.get("elements") or [] if isinstance(e, dict)]
    return [
        escape(str(o.get("text", ""))) if o.get("type") == "plain_text" else str(o.get("text", ""))
        for o in objects
    ]


def plain_messages(message: SlackMessage) -> list[SlackMessage]:
    """The same content as text-only messages of at most a section's size.

    The fallback for when Slack refuses a message's blocks (`msg_too_long`,
    `invalid_blocks`): its limits can be stricter than documented, and the answer must land."""
    texts = [t for block in message.blocks for t in _plain_texts(block) if t.strip()]
    whole = "\n\n".join(texts) or message.text
    return [SlackMessage(chunk, []) for chunk in split_markdown(whole, SECTION_TEXT_LIMIT)]


def notice_message(text: str) -> SlackMessage:
    """A one-section message (cancelled, interrupted, a hint); `text` is our own mrkdwn."""
    return message(text, [section(text)])


def request_message(user_id: str, goal: str, outcome: str = "") -> SlackMessage:
    """The root message in the channel: who asked for what, and (`outcome`, our own mrkdwn)
    how the run ended."""
    text = f":mag: <@{escape(user_id)}> asked Orchestra to research: {mrkdwn_line(goal, 2500)}"
    return message(text, [section(text), context(outcome or "The run happens in this thread.")])
