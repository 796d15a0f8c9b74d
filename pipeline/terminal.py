"""The terminal progress display: a second EventSink beside Slack's, proving the seam.

Three ways to show a run on stderr: `live` (a terminal: one block redrawn in place on every
event and on a timer, so elapsed times and retry countdowns tick), `log` (a pipe or a file: a
line each time a subtask's state changes, never the same state twice) and `quiet` (nothing;
`--json` without a terminal). Statuses are worded as in Slack's plan message."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from pipeline.events import CallRetrying, PipelineEvent
from pipeline.models import RunResult
from pipeline.summary import footer_parts, not_included
from pipeline.view import RunView, SubtaskView

Mode = Literal["live", "log", "quiet"]
TICK_S = 0.5  # how often a live display redraws between events

_ICONS = {
    "pending": "·",
    "running": "▶",
    "retrying": "↻",
    "done": "✓",
    "failed": "✗",
    "skipped": "↷",
    "cancelled": "■",
}
# Control characters (ESC and the rest, C0 and C1) but not newline and tab: text from a model
# or a goal must not move the cursor, recolour or retitle the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Untrusted text made inert for a terminal."""
    return _CONTROL.sub("", text)


def _line(text: str, limit: int) -> str:
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class Retry:
    """When a call's retry was announced, and how long it waits: a countdown's start."""

    at: float
    wait_s: float


def status(sub: SubtaskView, now: float | None, retry: Retry | None = None) -> str:
    """A subtask's status in words, as Slack's plan message says it. With `now` (seconds
    since the run started) a running subtask shows its time so far and a retry counts down;
    without, the words alone (for a log, where a line is never redrawn)."""
    match sub.state:
        case "pending":
            return "pending"
        case "running":
            if now is None:
                return "running…"
            return f"running… {max(now - (sub.started_at or now), 0.0):.1f}s"
        case "retrying":
            why = _line(sub.detail, 80)
            if now is None or retry is None:
                return f"retrying in {sub.wait_s:.1f}s (attempt {sub.attempt} failed: {why})"
            left = retry.wait_s - (now - retry.at)
            if left <= 0:  # the wait is over: the next attempt is under way
                return f"running… {-left:.1f}s (attempt {sub.attempt + 1})"
            return f"retrying in {left:.1f}s (attempt {sub.attempt} failed: {why})"
        case "done":
            when = "done earlier (reused)" if sub.reused else f"done in {sub.elapsed_s:.1f}s"
            return " · ".join(p for p in (when, f"{sub.usage.total:,} tokens", sub.web) if p)
        case "failed" | "skipped":
            return f"{sub.state}: {_line(sub.detail, 100)}" if sub.detail else sub.state
        case "cancelled":
            return "cancelled"


def describe(sub: SubtaskView, now: float | None, retry: Retry | None = None) -> str:
    """One line for one subtask: icon, id, role, status."""
    return f"{_ICONS[sub.state]} {sub.id} · {_line(sub.role, 60)}  {status(sub, now, retry)}"


def finished_line(view: RunView) -> str:
    """ "Finished." when every subtask is done, else what each ended as (as in Slack)."""
    states = [sub.state for sub in view.subtasks.values()]
    if all(state == "done" for state in states):
        return "Finished."
    order = ("done", "failed", "skipped", "cancelled")
    return "Finished: " + ", ".join(f"{states.count(s)} {s}" for s in order if s in states) + "."


def render(view: RunView, now: float, retries: dict[str | None, Retry] | None = None) -> list[str]:
    """The progress block for a run at `now`, one line per subtask."""
    retries = retries or {}
    if view.plan is None:
        lines = [f"Planning: {_line(view.goal, 80)}"]
    else:
        lines = [f"Plan: {_line(view.plan.goal, 100)}"]
        lines += [describe(s, now, retries.get(s.id)) for s in view.subtasks.values()]
    if view.phase == "integrating":
        lines.append(f"Writing the answer… {len(view.answer):,} characters so far")
    elif view.phase == "finished":
        lines.append(finished_line(view))
    if view.notice:
        lines.append(f"  {_notice(view.notice, now, retries.get(None))}")
    return lines


def _notice(notice: str, now: float, retry: Retry | None) -> str:
    """The plan or integration call's retry, its countdown moving with `now`."""
    text = _line(notice, 100)
    if retry is None:
        return text
    left = max(retry.wait_s - (now - retry.at), 0.0)
    return re.sub(r"retrying in \d+s", f"retrying in {left:.1f}s", text, count=1)


def footer(result: RunResult) -> str:
    """Wall time, subtasks, tokens and cost in one line (as the answer's footer in Slack)."""
    return " · ".join(footer_parts(result))


def not_included_line(result: RunResult) -> str:
    """Which subtasks the answer lacks, by role and why, as Slack's answer says it."""
    return not_included(result, lambda role: _line(role, 80))


def print_answer(console: Console, answer: str) -> None:
    """The answer: rendered Markdown on a terminal, the Markdown itself elsewhere (a file)."""
    text = clean(answer)
    if console.is_terminal:
        # hyperlinks=False: a link shows its URL beside its label, never hidden behind it.
        console.print(Markdown(text, hyperlinks=False))
    else:
        console.print(Text(text), soft_wrap=True)


def say(console: Console, line: str, style: str = "") -> None:
    """One line of our own, never wrapped into two in a file or a pipe."""
    console.print(Text(line, style=style), soft_wrap=True)


class TerminalProgress:
    """The run's progress on a console (stderr); use as `async with` around the run."""

    def __init__(
        self,
        console: Console,
        run_id: str,
        *,
        mode: Mode,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = TICK_S,
    ) -> None:
        self.console = console
        self.mode = mode
        self.view = RunView(run_id)
        self._clock = clock
        self._tick_s = tick_s
        self._started: float | None = None  # the clock's reading when the run's time was 0
        self._retries: dict[str | None, Retry] = {}
        self._logged: set[tuple[str, ...]] = set()
        self._live: Live | None = None
        self._ticker: asyncio.Task[None] | None = None

    def now(self) -> float:
        """Seconds since the run started, by the clock (events carry the same measure)."""
        return 0.0 if self._started is None else self._clock() - self._started

    def lines(self) -> list[str]:
        """What the display shows at this moment."""
        return render(self.view, self.now(), self._retries)

    async def __aenter__(self) -> TerminalProgress:
        if self.mode == "live":
            self._live = Live(
                Text(""),
                console=self.console,
                auto_refresh=False,  # redrawn by `_tick`, in this event loop, not a thread
                vertical_overflow="visible",
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
            self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._live is not None:
            self._redraw()
            self._live.stop()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            self._redraw()

    def _redraw(self) -> None:
        if self._live is not None:
            # One screen line per line: a long reason is cut, not wrapped into the next.
            block = Text("\n".join(self.lines()), no_wrap=True, overflow="ellipsis")
            self._live.update(block, refresh=True)

    async def __call__(self, event: PipelineEvent) -> None:
        """Fold the event in and show what changed."""
        if self._started is None:
            self._started = self._clock() - event.at
        if isinstance(event, CallRetrying):
            self._retries[event.subtask_id] = Retry(event.at, event.wait_s)
        self.view.apply(event)
        if self.mode == "live":
            self._redraw()
        elif self.mode == "log":
            self._log()

    def _log(self) -> None:
        """Each line whose state is new: the plan once, a subtask per state and attempt."""
        view = self.view
        keys: list[tuple[tuple[str, ...], str]] = []
        if view.plan is None:
            keys.append((("planning",), f"Planning: {_line(view.goal, 80)}"))
        else:
            keys.append((("plan",), f"Plan: {_line(view.plan.goal, 100)}"))
            keys += [
                ((s.id, s.state, str(s.attempt)), describe(s, None)) for s in view.subtasks.values()
            ]
        if view.phase == "integrating":
            keys.append((("integrating",), "Writing the answer…"))
        elif view.phase == "finished":
            keys.append((("finished",), finished_line(view)))
        if view.notice:
            keys.append((("notice", view.notice), f"  {_line(view.notice, 100)}"))
        for key, line in keys:
            if key not in self._logged:
                self._logged.add(key)
                say(self.console, line)
