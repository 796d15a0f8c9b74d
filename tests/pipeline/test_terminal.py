"""The terminal display: Slack's words, times that tick, inert untrusted text, Markdown."""

from __future__ import annotations

import asyncio
import io
import re

from rich.console import Console

from pipeline.events import PlanReady, RunStarted, SubtaskStarted
from pipeline.models import Plan
from pipeline.terminal import Retry, TerminalProgress, describe, print_answer, status
from pipeline.testing import simple_plan
from pipeline.view import SubtaskView


def test_running_subtask_shows_its_time_so_far() -> None:
    sub = SubtaskView("s1", "Finder", state="running", started_at=1.0)
    assert status(sub, now=3.3) == "running… 2.3s"
    assert status(sub, now=None) == "running…"


def test_retry_counts_down_then_shows_the_next_attempt_running() -> None:
    sub = SubtaskView("s1", "Finder", state="retrying", detail="rate limited", attempt=1)
    retry = Retry(at=1.0, wait_s=2.0)
    assert status(sub, 1.5, retry) == "retrying in 1.5s (attempt 1 failed: rate limited)"
    assert status(sub, 2.9, retry) == "retrying in 0.1s (attempt 1 failed: rate limited)"
    assert status(sub, 3.5, retry) == "running… 0.5s (attempt 2)"


def test_failed_and_skipped_are_worded_as_in_slack() -> None:
    failed = SubtaskView("s1", "Finder", state="failed", detail="Claude returned an error.")
    skipped = SubtaskView("s2", "Editor", state="skipped", detail="needs s1, which failed")
    assert describe(failed, 5.0) == "✗ s1 · Finder  failed: Claude returned an error."
    assert describe(skipped, 5.0) == "↷ s2 · Editor  skipped: needs s1, which failed"


def test_a_role_cannot_drive_the_terminal() -> None:
    sub = SubtaskView("s1", "\x1b]0;owned\x07Finder\x1b[2J\x9b1m", state="pending")
    line = describe(sub, 0.0)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", line)
    assert "Finder" in line


def test_answer_is_rendered_as_markdown_on_a_terminal_with_urls_shown() -> None:
    answer = "### Title\n\nSee [the report](https://example.com/r).\n\n- one\n- two\x1b[2J"
    screen = io.StringIO()
    print_answer(Console(file=screen, force_terminal=True, width=80), answer)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())  # colours off, to read it
    assert "###" not in shown
    assert "Title" in shown
    assert "https://example.com/r" in shown  # a link never hides where it goes
    assert "•" in shown
    assert "\x1b[2J" not in screen.getvalue()


def test_answer_in_a_file_stays_markdown() -> None:
    out = io.StringIO()
    print_answer(Console(file=out, width=20), "### Title\n\nA long line that is not wrapped.")
    assert out.getvalue() == "### Title\n\nA long line that is not wrapped.\n"


async def test_live_display_redraws_on_a_timer_between_events() -> None:
    now = [100.0]
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    progress = TerminalProgress(console, "r1", mode="live", clock=lambda: now[0], tick_s=0.01)
    plan = Plan.model_validate(simple_plan("compare things", 2))
    async with progress:
        await progress(RunStarted(run_id="r1", at=0.0, goal="compare things"))
        await progress(PlanReady(run_id="r1", at=1.0, plan=plan))
        now[0] = 101.0
        await progress(SubtaskStarted(run_id="r1", at=1.0, subtask_id="s1"))
        for step in range(1, 4):  # no events: only the clock moves
            now[0] = 101.0 + step
            await asyncio.sleep(0.05)
    seen = set(re.findall(r"s1 · [^\n]*running… (\d+\.\d)s", screen.getvalue()))
    assert {"1.0", "2.0", "3.0"} <= seen
