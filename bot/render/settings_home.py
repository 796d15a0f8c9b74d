"""The Home tab's settings (issue 24.4): the workspace's defaults and the channels with
settings of their own that the person may see, one section each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.render.text import SECTION_TEXT_LIMIT, mrkdwn_line

# Sections the settings may take on the Home tab (Slack's 100 blocks hold the runs too).
HOME_SETTINGS_SECTIONS = 8


def settings_sections(workspace: str, channels: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """`workspace`: the defaults' summary ("" when none are set); `channels`: (channel id,
    summary of what applies there), the latest changed first."""
    lines = [f"*Workspace defaults*: {mrkdwn_line(workspace or 'none set', 1500)}"]
    lines += [f"<#{c}>: {mrkdwn_line(text, 1500)}" for c, text in channels]
    shown = lines[:HOME_SETTINGS_SECTIONS]
    return [
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Settings*"}},
        *(
            {"type": "section", "text": {"type": "mrkdwn", "text": line[:SECTION_TEXT_LIMIT]}}
            for line in shown
        ),
    ]
