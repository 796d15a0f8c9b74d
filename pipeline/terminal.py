"""The terminal progress display: a second EventSink beside Slack's, proving the seam."""

from __future__ import annotations

from typing import TextIO

from pipeline.events import PipelineEvent
from pipeline.models import RunResult
from pipeline.view import RunView, SubtaskView

_ICONS = {
    "pending": "·",
    "running": "▶",
    "retrying": "↻",
    "done": "✓",
    "failed": "✗",
    "skipped": "↷",
    "cancelled": "■",
}


def describe(sub: SubtaskView, now: float) -> str:
    """One line for one subtask: state, time, tokens or the reason."""
    head = f"{_ICONS[sub.state]} {sub.id} {sub.state:<9} {sub.role[:60]}"
    match sub.state:
        case "running":
            return f"{head}  {now - (sub.started_at or now):.1f}s"
        case "retrying":
            return f"{head}  attempt {sub.attempt} failed, retry in {sub.wait_s:.1f}s"
        case "done":
            return f"{head}  {sub.elapsed_s:.1f}s, {sub.usage.total:,} tokens"
        case "failed" | "skipped":
            return f"{head}  {sub.detail[:80]}"
        case _:
            return head


def render(view: RunView) -> list[str]:
    """The progress block for a run, one line per subtask."""
    if view.plan is None:
        lines = [f"Planning: {view.goal[:80]}"]
    else:
        lines = [f"Plan: {view.plan.goal[:100]}"]
        lines += [describe(s, view.at) for s in view.subtasks.values()]
    if view.phase == "integrating":
        lines.append(f"Integrating… {len(view.answer):,} characters so far")
    if view.notice:
        lines.append(f"  {view.notice[:100]}")
    return lines


def footer(result: RunResult) -> str:
    """Wall time, subtasks, tokens and cost in one line."""
    cost = "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}"
    failed = len(result.failed_subtasks)
    return (
        f"{result.elapsed_s:.1f}s · {result.done_count} subtasks done, {failed} not · "
        f"{result.usage.total_input:,} tokens in / {result.usage.output_tokens:,} out · {cost}"
    )


class TerminalProgress:
    """Redraws the progress block in place on a terminal; prints changes elsewhere."""

    def __init__(self, out: TextIO, run_id: str, *, live: bool) -> None:
        self._out = out
        self._live = live
        self.view = RunView(run_id)
        self._shown: list[str] = []

    async def __call__(self, event: PipelineEvent) -> None:
        """Fold the event in and refresh what is shown."""
        self.view.apply(event)
        lines = render(self.view)
        if self._live:
            # Move up over the previous block and clear it: a display, not a log.
            up = f"\x1b[{len(self._shown)}F\x1b[J" if self._shown else ""
            self._out.write(up + "\n".join(lines) + "\n")
        else:
            for line in lines:
                if line not in self._shown and not line.startswith("Integrating"):
                    self._out.write(line + "\n")
        self._out.flush()
        self._shown = lines
