"""Pure checks of Slack's message limits and rate limits, as the fake Web API enforces them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TEXT_LIMIT = 4000  # DESIGN.md: keep a message's text under 4,000 characters
MAX_BLOCKS = 50
SECTION_TEXT = 3000
SECTION_FIELD = 2000
MARKDOWN_PER_MESSAGE = 12_000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
ID_LENGTH = 255
BUTTON_VALUE = 2000
KNOWN_BLOCKS = {
    "section",
    "markdown",
    "context",
    "header",
    "divider",
    "actions",
    "image",
    "rich_text",
}


def block_errors(blocks: list[dict[str, Any]]) -> list[str]:
    """Slack's `invalid_blocks` reasons for a message's blocks (empty when valid)."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"must contain at most {MAX_BLOCKS} blocks [json-pointer:/blocks]")
    markdown = 0
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        kind = block.get("type")
        if kind not in KNOWN_BLOCKS:
            errors.append(f"unsupported type: {kind} {where}")
            continue
        if len(str(block.get("block_id", ""))) > ID_LENGTH:
            errors.append(f"block_id too long {where}")
        text = block.get("text")
        if kind == "section":
            if isinstance(text, dict) and len(str(text.get("text", ""))) > SECTION_TEXT:
                errors.append(f"must be less than {SECTION_TEXT + 1} characters {where}/text")
            for field_ in block.get("fields") or []:
                if len(str(field_.get("text", ""))) > SECTION_FIELD:
                    errors.append(f"field too long {where}/fields")
        elif kind == "markdown":
            markdown += len(str(text or ""))
        elif (
            kind == "header"
            and isinstance(text, dict)
            and len(str(text.get("text", ""))) > HEADER_TEXT
        ):
            errors.append(f"must be less than {HEADER_TEXT + 1} characters {where}/text")
        elif kind == "context" and len(block.get("elements") or []) > CONTEXT_ELEMENTS:
            errors.append(f"must contain at most {CONTEXT_ELEMENTS} elements {where}/elements")
        elif kind == "actions":
            errors += _actions_errors(block, where)
    if markdown > MARKDOWN_PER_MESSAGE:
        errors.append(f"markdown blocks exceed {MARKDOWN_PER_MESSAGE} characters in one message")
    return errors


def _actions_errors(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements") or []
    errors = []
    if len(elements) > ACTIONS_ELEMENTS:
        errors.append(f"must contain at most {ACTIONS_ELEMENTS} elements {where}/elements")
    for element in elements:
        label = element.get("text") or {}
        if len(str(label.get("text", ""))) > BUTTON_TEXT:
            errors.append(f"button text longer than {BUTTON_TEXT} {where}")
        if len(str(element.get("action_id", ""))) > ID_LENGTH:
            errors.append(f"action_id too long {where}")
        if len(str(element.get("value", ""))) > BUTTON_VALUE:
            errors.append(f"button value longer than {BUTTON_VALUE} {where}")
    return errors


@dataclass(frozen=True)
class Rate:
    """Allowed calls per second, with a burst."""

    per_second: float
    burst: float


# What the strict fake allows. Slack: chat.postMessage ~1/s per channel with short bursts;
# Tier 3 = 50+/min; Tier 4 = 100+/min (per app per workspace).
STRICT_RATES: dict[str, Rate] = {
    "chat.postMessage": Rate(1.0, 4),
    "chat.update": Rate(50 / 60, 12),
    "chat.postEphemeral": Rate(100 / 60, 12),
    "conversations.replies": Rate(50 / 60, 12),
    "chat.delete": Rate(50 / 60, 12),
}
PER_CHANNEL = {"chat.postMessage"}


@dataclass
class RateLimiter:
    """Token buckets per (method, channel scope); `check` says how long to wait, or 0."""

    rates: dict[str, Rate] = field(default_factory=lambda: dict(STRICT_RATES))
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def check(self, method: str, channel: str) -> float:
        """0 if the call may go ahead (and is counted), else seconds until it may."""
        rate = self.rates.get(method)
        if rate is None:
            return 0.0
        key = (method, channel if method in PER_CHANNEL else "")
        now = self.clock()
        tokens, updated = self._buckets.get(key, (rate.burst, now))
        tokens = min(rate.burst, tokens + (now - updated) * rate.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate.per_second
        self._buckets[key] = (tokens - 1, now)
        return 0.0
