"""The Block Kit pieces every message is built from, each within its own Slack limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.render.text import (
    MAX_BLOCKS,
    MESSAGE_BLOCKS_BUDGET,
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    truncate,
)


@dataclass(frozen=True)
class SlackMessage:
    """What one chat.postMessage / chat.update carries."""

    text: str  # the notification fallback, always under Slack's text limit
    blocks: list[dict[str, Any]]


def message(text: str, blocks: list[Block]) -> SlackMessage:
    """A message of `blocks` with `text` (safe mrkdwn) as its fallback, cut to Slack's limit."""
    return SlackMessage(truncate(text, MESSAGE_TEXT_LIMIT - 1), [b.to_dict() for b in blocks])


def section(mrkdwn: str) -> SectionBlock:
    """A section of safe mrkdwn, cut (after escaping, never inside an entity) to its limit."""
    return SectionBlock(text=MarkdownTextObject(text=truncate(mrkdwn, SECTION_TEXT_LIMIT)))


def context(mrkdwn: str, block_id: str | None = None) -> ContextBlock:
    """A context line of safe mrkdwn, cut to a section's limit."""
    return ContextBlock(
        elements=[MarkdownTextObject(text=truncate(mrkdwn, SECTION_TEXT_LIMIT))], block_id=block_id
    )


def block_text_chars(blocks: list[dict[str, Any]]) -> int:
    """All the text a message's blocks carry (what `msg_blocks_too_long` counts, roughly)."""

    def walk(node: object) -> int:
        if isinstance(node, dict):
            return sum(
                len(value) if key == "text" and isinstance(value, str) else walk(value)
                for key, value in node.items()
            )
        if isinstance(node, list):
            return sum(walk(item) for item in node)
        return 0

    return walk(blocks)


def fits(message: SlackMessage) -> bool:
    """True if Slack will take the message's blocks whole: count and total text."""
    return (
        len(message.blocks) <= MAX_BLOCKS
        and block_text_chars(message.blocks) <= MESSAGE_BLOCKS_BUDGET
    )
