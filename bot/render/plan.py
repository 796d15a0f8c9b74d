"""The plan message: the goal, one live entry per subtask, Cancel while the run is live.

It must always fit one message: at ORCHESTRA_MAX_SUBTASKS 20 the full rendering reaches
12-32k characters, past what Slack takes (`msg_blocks_too_long`). So it is rendered at
decreasing densities (shorter roles, shorter previews, then none, then one line per entry)
until it fits `MESSAGE_BLOCKS_BUDGET`; the last density fits by construction."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.render import notes
from bot.render.kit import SlackMessage, block_text_chars, context, fits, message, section
from bot.render.text import (
    ACTIONS_ELEMENTS_LIMIT,
    BUTTON_TEXT_LIMIT,
    MESSAGE_BLOCKS_BUDGET,
    PREVIEW_CHARS,
    SECTION_TEXT_LIMIT,
    escape,
    mrkdwn_line,
    plain_preview,
    truncate,
)
from pipeline.estimate import estimate_text
from pipeline.view import RunView, SubtaskState, SubtaskView
from pipeline.words import CUT_AT_DEADLINE

CANCEL_ACTION = "orchestra_cancel"
OUTPUT_ACTION = "orchestra_output"
RETRY_ACTION = "orchestra_retry"  # a failed subtask, again, with the dependents it held back
RERUN_ACTION = "orchestra_rerun"  # the whole run again, from the start
CONTINUE_ACTION = "orchestra_continue"  # the subtasks cut at the deadline, and their dependents
APPROVE_ACTION = "orchestra_approve"  # a plan under review: run it (issue 22.3)
EDIT_ACTION = "orchestra_edit"  # a plan under review: change it in a modal, then run it

_STATUS_ICON = {
    "pending": ":hourglass_flowing_sand:",
    "running": ":arrows_counterclockwise:",
    "retrying": ":repeat:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "skipped": ":fast_forward:",
    "cancelled": ":black_square_for_stop:",
}
_STATES: tuple[SubtaskState, ...] = (
    "done",
    "failed",
    "skipped",
    "cancelled",
    "pending",
    "running",
    "retrying",
)


@dataclass(frozen=True)
class Density:
    """How much of each subtask the plan message shows."""

    goal: int  # characters of the goal
    role: int  # characters of each role
    detail: int  # characters of a status's reason (0: the status word alone)
    preview: int  # characters of a finished subtask's preview (0: none)
    one_line: bool  # each entry one line of a shared section, not a section of its own


DENSITIES = (
    Density(goal=500, role=200, detail=160, preview=PREVIEW_CHARS, one_line=False),
    Density(goal=300, role=120, detail=100, preview=120, one_line=False),
    Density(goal=200, role=80, detail=60, preview=0, one_line=False),
    Density(goal=150, role=40, detail=0, preview=0, one_line=True),
)


def status_line(sub: SubtaskView, detail: int = 160) -> str:
    """The live status of one subtask, in words (mrkdwn; its reason escaped)."""

    def reason(limit: int) -> str:
        return mrkdwn_line(sub.detail, limit)

    match sub.state:
        case "pending":
            return "pending"
        case "running":
            return "running…"
        case "retrying":
            wait = f"retrying in {sub.wait_s:.0f}s"
            if not detail:
                return wait
            return f"{wait} (attempt {sub.attempt} failed: {reason(detail * 3 // 4)})"
        case "done":
            when = "done earlier (reused)" if sub.reused else f"done in {sub.elapsed_s:.1f}s"
            if not detail:
                return when
            # The web note holds only our words and counts: nothing to escape.
            return " · ".join(p for p in (when, f"{sub.usage.total:,} tokens", sub.web) if p)
        case "failed" | "skipped":
            return f"{sub.state}: {reason(detail)}" if detail and sub.detail else sub.state
        case "cancelled":
            # Always said, at any density: the thread must say why a subtask is missing.
            return CUT_AT_DEADLINE if sub.detail == CUT_AT_DEADLINE else "cancelled"


def subtask_block(sub: SubtaskView, density: Density = DENSITIES[0]) -> Block:
    """One plan entry: icon, id, role, status and (when done) a preview of the output."""
    lines = [
        f"{_STATUS_ICON[sub.state]} *{escape(sub.id)}* · {mrkdwn_line(sub.role, density.role)}",
        f"_{status_line(sub, density.detail)}_",
    ]
    if density.preview and sub.state == "done" and sub.output:
        preview = escape(plain_preview(sub.output, density.preview))
        lines.append(f"> {truncate(preview, density.preview)}")
    return section("\n".join(lines))


def plan_block_id(run_id: str) -> str:
    """The block id of a plan message's buttons (every live plan has Cancel): it tells a
    resumed run which message in the thread is its plan."""
    return f"run:{run_id}"


def plan_message(
    view: RunView,
    *,
    cancel_note: str = "",
    compact: bool = False,
    over: bool = True,
    queued: str = "",
    review: str = "",
) -> SlackMessage:
    """The plan message: goal, one live entry per subtask, Cancel while live; once the run is
    `over` (not merely paused for a restart), Retry for failed subtasks and Re-run. While the
    run waits for a slot, `queued` says where it stands; while its plan waits for approval,
    `review` says so and Approve, Edit and Cancel are offered.

    Rendered at the richest density that fits one message; `compact=True` forces the most
    compact one (for when Slack refused an edit anyway: the final state must land)."""
    for density in DENSITIES[:-1] if not compact else ():
        rendered = plan_at_density(view, density, cancel_note, over, queued, review)
        if fits(rendered):
            return rendered
    return plan_at_density(view, DENSITIES[-1], cancel_note, over, queued, review)


def plan_at_density(
    view: RunView,
    density: Density,
    cancel_note: str = "",
    over: bool = True,
    queued: str = "",
    review: str = "",
) -> SlackMessage:
    """The plan message at one density, whether or not it fits."""
    goal = mrkdwn_line(view.goal, density.goal)
    waiting = bool(queued) and view.plan is None and not view.finished
    if waiting:
        head = f":hourglass_flowing_sand: *Queued* {goal}"
    elif view.plan is None:
        head = f":brain: *{'No plan.' if view.finished else 'Planning…'}* {goal}"
    else:
        ended = outcome_of(view) if over else None
        label = notes.OUTCOME_HEADS[ended] if ended else ":clipboard: *Plan:*"
        head = f"{label} {mrkdwn_line(view.plan.goal, density.goal)}"
    top: list[Block] = [section(head)]
    if view.estimate is not None and view.plan is not None:
        # Before subagents start (issue 22.4): what the rest of the run will cost and take.
        top.append(context(estimate_text(view.estimate)))
    bottom: list[Block] = []
    reviewing = bool(review) and not view.finished
    phase = escape(queued) if waiting else _phase_line(view, cancel_note)
    if reviewing:
        phase = review  # already mrkdwn (names a person, a date)
    if phase:
        bottom.append(context(phase))
    buttons = _review_buttons(view.run_id) if reviewing else _buttons(view, over)
    if buttons:
        bottom.append(ActionsBlock(block_id=plan_block_id(view.run_id), elements=buttons))
    subs = list(view.subtasks.values())
    if density.one_line:
        used = block_text_chars([b.to_dict() for b in top + bottom])
        entries = _entry_lines(subs, density, MESSAGE_BLOCKS_BUDGET - used)
    else:
        entries = [subtask_block(sub, density) for sub in subs]
    done = sum(1 for s in subs if s.state == "done")
    text = f"Plan for: {mrkdwn_line(view.goal, 300)} ({done}/{len(subs)} done)"
    return message(text, top + entries + bottom)


def _entry_lines(subs: list[SubtaskView], density: Density, room: int) -> list[Block]:
    """Entries as one line each, packed into sections, within `room` characters in all."""
    lines = [
        f"{_STATUS_ICON[s.state]} *{escape(s.id)}* {mrkdwn_line(s.role, density.role)}"
        f" · _{status_line(s, density.detail)}_"
        for s in subs
    ]
    more = "… and {} more subtasks"
    shown: list[str] = []
    used = len(more) + 8  # the "more" line, should it be needed
    for line in lines:
        if used + len(line) + 1 > room:
            break
        shown.append(line)
        used += len(line) + 1
    if len(shown) < len(lines):
        shown.append(more.format(len(lines) - len(shown)))
    groups: list[str] = []
    for line in shown:
        if groups and len(groups[-1]) + 1 + len(line) <= SECTION_TEXT_LIMIT:
            groups[-1] += "\n" + line
        else:
            groups.append(line)
    return [section(group) for group in groups]


def review_message(run_id: str, note: str) -> SlackMessage:
    """A plan waiting for approval where no plan message carries buttons (a DM's native
    stream shows the plan): the note, with Approve, Edit and Cancel."""
    return message(
        "This plan waits for approval.",
        [
            section(note),
            ActionsBlock(block_id=f"review:{run_id}", elements=_review_buttons(run_id)),
        ],
    )


def _review_buttons(run_id: str) -> list[ButtonElement]:
    return [
        ButtonElement(text="Approve", action_id=APPROVE_ACTION, value=run_id, style="primary"),
        ButtonElement(text="Edit", action_id=EDIT_ACTION, value=run_id),
        ButtonElement(text="Cancel", action_id=CANCEL_ACTION, value=run_id, style="danger"),
    ]


def _buttons(view: RunView, over: bool) -> list[ButtonElement]:
    buttons: list[ButtonElement] = []
    if not view.finished:
        buttons.append(
            ButtonElement(text="Cancel", action_id=CANCEL_ACTION, value=view.run_id, style="danger")
        )
    elif over:
        if any(sub.detail == CUT_AT_DEADLINE for sub in view.subtasks.values()):
            buttons.append(
                ButtonElement(text="Continue", action_id=CONTINUE_ACTION, value=view.run_id)
            )
        buttons.append(ButtonElement(text="Re-run", action_id=RERUN_ACTION, value=view.run_id))
        buttons += [
            ButtonElement(
                text=truncate(f"Retry {sub.id}", BUTTON_TEXT_LIMIT),
                action_id=f"{RETRY_ACTION}:{sub.id}",
                value=f"{view.run_id}:{sub.id}",
            )
            for sub in view.subtasks.values()
            if sub.state == "failed" and view.phase == "finished"
        ]
    buttons += [
        ButtonElement(
            text=truncate(f"Full output: {sub.id}", BUTTON_TEXT_LIMIT),
            action_id=f"{OUTPUT_ACTION}:{sub.id}",
            value=f"{view.run_id}:{sub.id}",
        )
        for sub in view.subtasks.values()
        if sub.state == "done"
    ]
    return buttons[:ACTIONS_ELEMENTS_LIMIT]


def _phase_line(view: RunView, cancel_note: str) -> str:
    notice = mrkdwn_line(view.notice, 300)
    match view.phase:
        case "planning":
            return f"Planning the work… {notice}".strip()
        case "running":
            return notice
        case "integrating":
            return f"Writing the answer… {notice}".strip()
        case "finished":
            return _finished_line(view)
        case "failed":
            return "Stopped: see the message below."
        case "cancelled":
            return cancel_note or "Cancelled."


def _finished_line(view: RunView) -> str:
    """ "Finished." when every subtask is done, else what each ended as."""
    counts = Counter(sub.state for sub in view.subtasks.values())
    if counts["done"] == len(view.subtasks):
        return "Finished."
    return "Finished: " + ", ".join(f"{counts[s]} {s}" for s in _STATES if counts[s]) + "."


def outcome_of(view: RunView) -> notes.Outcome | None:
    """How the run ended, as the channel is told (None while it goes on)."""
    match view.phase:
        case "finished":
            if any(sub.detail == CUT_AT_DEADLINE for sub in view.subtasks.values()):
                return "cut"
            whole = all(sub.state == "done" for sub in view.subtasks.values())
            return "answered" if whole else "partial"
        case "failed":
            return "failed"
        case "cancelled":
            return "cancelled"
        case _:
            return None
