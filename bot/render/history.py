"""Pure rendering of what the team researched: `/research history` and the App Home tab."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.render import notes
from bot.render.text import (
    HOME_BLOCK_LIMIT,
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    escape,
    mrkdwn_line,
    truncate,
)
from bot.store import RunSummary
from pipeline import usd_text

HISTORY_SIZE = 10  # runs listed by `/research history`, and per list on the Home tab

_STATUS = {
    "queued": ":hourglass_flowing_sand: queued",
    "running": ":arrows_counterclockwise: running",
    "paused": ":double_vertical_bar: paused",
    "succeeded": ":white_check_mark: answered",
    "partial": ":large_yellow_circle: partly answered",
    "failed": ":x: failed",
    "cancelled": ":black_square_for_stop: cancelled",
}


@dataclass(frozen=True)
class Spend:
    """US$ spent by the team, for the Home tab: the spend ledger's totals, the same charges
    as the runs' costs in history lines and footers (`bot.store.spend`)."""

    today: float
    this_month: float


def thread_link(workspace_url: str, channel: str, ts: str | None) -> str:
    """A link to a run's thread (Slack's permalink shape), or '' when it has none yet."""
    if not ts or not workspace_url:
        return ""
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def canvas_url(workspace_url: str, team_id: str, canvas_id: str) -> str:
    """A canvas's address in the workspace (Slack's shape: /docs/<team>/<canvas id>); ''
    without the workspace's URL."""
    if not workspace_url or not team_id:
        return ""
    return f"{workspace_url.rstrip('/')}/docs/{team_id}/{canvas_id}"


def goal_link(workspace_url: str, goal: str, channel: str, thread_ts: str | None) -> str:
    """A run's goal, short, linking to its thread; '' when it has no thread yet. The label is
    plain text: a link inside it (which `mrkdwn_line` keeps live) would end ours early."""
    link = thread_link(workspace_url, channel, thread_ts)
    label = truncate(escape(" ".join(goal.split())), 40) or "a run"
    return f"<{link}|{label}>" if link else ""


def run_line(run: RunSummary, workspace_url: str) -> str:
    """One run as mrkdwn: goal, who, status, cost, a link to its thread, and its plan's
    estimate beside what it cost and took."""
    goal = mrkdwn_line(run.goal, 150) if run.goal else "_(text removed by retention)_"
    cost = "cost unknown" if run.cost_usd is None else f"${run.cost_usd:.4f}"
    when = run.created_at.strftime("%Y-%m-%d %H:%M UTC")
    link = thread_link(workspace_url, run.channel, run.thread_ts)
    where = f"<{link}|thread>" if link else f"<#{run.channel}>"
    canvas = canvas_url(workspace_url, run.workspace, run.canvas_id) if run.canvas_id else ""
    if canvas:
        where += f" · <{canvas}|canvas>"
    who = notes.who(run.requester)
    line = f"*{goal}*\n{who} · {_STATUS[run.status]} · {cost} · {when} · {where}"
    estimate = _estimate(run)
    return f"{line}\n{estimate}" if estimate else line


# A run's actual time is known once it ended; its cost too (as the line above shows it).
_ENDED = frozenset({"succeeded", "partial", "failed", "cancelled"})


def _estimate(run: RunSummary) -> str:
    """The plan's estimate beside the actual cost and working time ('' without one)."""
    if run.estimate_s is None:
        return ""
    ended = run.status in _ENDED
    return notes.estimate_vs_actual(
        run.estimate_usd,
        run.estimate_s,
        run.cost_usd if ended else None,
        run.work_s if ended else None,
    )


def _sections(
    runs: Sequence[RunSummary], workspace_url: str, empty: str, *, complete: bool = True
) -> list[Block]:
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=truncate(run_line(r, workspace_url), SECTION_TEXT_LIMIT))
        )
        for r in runs
    ] or [SectionBlock(text=MarkdownTextObject(text=empty))]
    if not complete:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=notes.UNCHECKED)]))
    return blocks


def history_blocks(
    runs: Sequence[RunSummary], channel: str, workspace_url: str, *, complete: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """`/research history`: the channel's latest runs that the person may see (a private
    reply's text and blocks; `complete`: False when some could not be checked)."""
    text = notes.history_here(channel)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*{text}*"))]
    blocks += _sections(runs, workspace_url, notes.HISTORY_EMPTY, complete=complete)
    return text, [b.to_dict() for b in blocks]


def history_text(
    runs: Sequence[RunSummary], title: str, workspace_url: str, *, empty: str, complete: bool
) -> str:
    """The same list as one mrkdwn text, for a private reply that goes as an ephemeral
    message's text (a mention's or a DM's): it reads the same wherever text is shown."""
    lines = [f"*{title}*", *(run_line(r, workspace_url) for r in runs)]
    if not runs:
        lines.append(empty)
    if not complete:
        lines.append(notes.UNCHECKED)
    return truncate("\n\n".join(lines), MESSAGE_TEXT_LIMIT)


def home_view(
    mine: Sequence[RunSummary],
    team: Sequence[RunSummary],
    spend: Spend,
    workspace_url: str,
    command: str,
    *,
    complete: bool = True,
) -> dict[str, Any]:
    """The App Home tab: the person's recent runs, the team's that they may see (`complete`:
    False when some could not be checked), and spend today and this month."""
    blocks: list[Block] = [
        HeaderBlock(text="Orchestra"),
        SectionBlock(
            text=MarkdownTextObject(
                text=truncate(
                    f"Ask with `{escape(command)} <goal>` in a channel, or mention me. "
                    f"Team spend: *{usd_text(spend.today)}* today, "
                    f"*{usd_text(spend.this_month)}* this month.",
                    SECTION_TEXT_LIMIT,
                )
            )
        ),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text="*Your recent runs*")),
        *_sections(mine, workspace_url, notes.HOME_MINE_EMPTY),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text="*The team's recent runs*")),
        *_sections(team, workspace_url, notes.HOME_TEAM_EMPTY, complete=complete),
        ContextBlock(elements=[MarkdownTextObject(text="Costs are estimates from token usage.")]),
    ]
    return View(type="home", blocks=blocks[:HOME_BLOCK_LIMIT]).to_dict()
