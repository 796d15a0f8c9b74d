"""Benchmark 10: rendering untrusted text is linear. Each of the worst shapes found (long runs
of `[\\`, `\\`, `[`, backticks, `*`, `<`, `&`, nested brackets, unclosed fences, line breaks…)
at a small and at a ten times larger size, through everything that renders a model's text for
a channel (the growing answer's parts, the final answer messages, their plain fallback, a
subtask's full output, the plan's previews) and for the DM's native stream (the streamed text,
its cut, the expired stream's edit, the continuation below). Linear time gives a ratio near
10; the target allows 12. Pure functions, one process, no fakes: run alone, it takes seconds.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.report import Report, Table, Verdict
from bot.render import messages as blocks
from bot.render import native as nb
from bot.render.stream_text import Cut, StreamedText
from bot.render.text import mrkdwn_line, plain_preview, safe_mrkdwn
from bot.thread.answer_stream import finished_part
from pipeline import Plan, RunResult, SubtaskOutcome, Usage
from pipeline.view import RunView

TARGET_RATIO = 12.0
# What a streamed message shows besides the answer (a plan's title and a few tasks).
_OVERHEAD = 600


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def _nested(n: int) -> str:
    return "[" * (n // 2) + "]" * (n - n // 2)


def _unclosed_fence(n: int) -> str:
    return ("```python\n" + "x = [1]  # <@U1> &amp; \\[\n" * n)[:n]


# name -> the text of `n` characters. The first ones were quadratic (3 s at 40,000 characters);
# the rest are every other shape the renderers treat specially.
SHAPES: dict[str, Callable[[int], str]] = {
    "`[\\` run": _repeat("[\\"),
    "`\\` run": _repeat("\\"),
    "`[\\ ` (words)": _repeat("[\\ "),
    "`\\` lines": _repeat("\\\n"),
    "line breaks": _repeat("\n"),
    "`[` run": _repeat("["),
    "nested brackets": _nested,
    "`[[a]]` run": _repeat("[[a]]"),
    "`![` run": _repeat("!["),
    "`[a](` unclosed links": _repeat("[a]("),
    "backtick run": _repeat("`"),
    "backticks and spaces": _repeat("`` "),
    "`*` run": _repeat("*"),
    "`<` run": _repeat("<"),
    "unclosed angle links `<a:`": _repeat("<a:|"),
    "`\\<` run": _repeat("\\<"),
    "`&` run": _repeat("&"),
    "unclosed fence": _unclosed_fence,
    "fence lines": _repeat("```\nx\n"),
    "`[ref]:` lines": _repeat("[a]:\n"),
}


@dataclass(frozen=True)
class Timing:
    """One shape on one surface: the best of the repeats at each size."""

    shape: str
    surface: str
    small_s: float
    large_s: float

    @property
    def ratio(self) -> float:
        """Large over small time."""
        return self.large_s / max(self.small_s, 1e-9)


_PLAN = Plan.model_validate(
    {
        "goal": "the goal",
        "subtasks": [
            {
                "id": f"s{i}",
                "role": "A role.",
                "system_prompt": "You research one aspect.",
                "input": "the input",
            }
            for i in range(2)
        ],
    }
)


def _result(answer: str) -> RunResult:
    plan = _PLAN
    return RunResult(
        run_id="bench",
        goal="the goal",
        status="succeeded",
        plan=plan,
        outcomes={t.id: SubtaskOutcome(t.id, "done") for t in plan.subtasks},
        answer=answer,
        usage_by_role={},
        usage=Usage(1000, 1000),
        cost_usd=0.01,
        elapsed_s=1.0,
    )


def channel(text: str) -> None:
    """Everything a channel shows of an answer `text`: its parts as it grows (one snapshot),
    the final messages and their plain fallback, a subtask's full output, the plan's lines."""
    done, reopen = 0, ""
    while (split := finished_part(reopen, text[done:])) is not None:
        part, took, reopen = split
        blocks.answer_part_chunks(part)
        done += took
    blocks.answer_part_chunks(reopen + text[done:])
    result = _result(text)
    messages = blocks.answer_messages(result)
    blocks.answer_messages(result, reopen + text[done:])
    blocks.plain_messages(messages[0])
    blocks.output_messages("s1", "A role.", text)
    plain_preview(text, 300)
    mrkdwn_line(text, 2500)
    safe_mrkdwn(text)


def dm(text: str) -> None:
    """Everything the DM's native stream shows of an answer `text`: the text streamed as it
    grows (two writes), its end (cut where the stream is full, the rest continued below), and
    the edit of a stream that expired."""
    streamed = StreamedText()
    for end in (len(text) // 2, len(text)):
        piece = streamed.next_piece(text[:end], _OVERHEAD)
        if piece is not None:
            streamed.show(piece)
    whole = nb.render(text)
    cut = streamed.cut(text, len(text), _OVERHEAD) or Cut(0, None)
    cut.part(text)
    blocks.answer_messages(_result(text), cut.rest(text, len(text)))
    nb.fallback_message(RunView(run_id="bench", goal="the goal"), "Researching", whole)


SURFACES: dict[str, Callable[[str], None]] = {"channel": channel, "DM stream": dm}


def _cpu_s(render: Callable[[str], None], text: str) -> float:
    """The CPU time of this thread rendering `text` once (what the event loop would be held
    for; not the wall time, which other work on the machine stretches)."""
    started = time.thread_time()
    render(text)
    return time.thread_time() - started


def measure(small: int, large: int, repeats: int) -> list[Timing]:
    """Every shape on every surface at both sizes: the best of `repeats` of each, the two
    sizes taken in turn (so a busy moment weighs on both alike)."""
    timings: list[Timing] = []
    # A collection inside one timing would count against its shape: collect once, then keep
    # the collector off (one full collection per timing cost more than all the rendering).
    gc.collect()
    gc.disable()
    try:
        _measure_all(small, large, repeats, timings)
    finally:
        gc.enable()
    return timings


def _measure_all(small: int, large: int, repeats: int, timings: list[Timing]) -> None:
    for shape, make in SHAPES.items():
        small_text, large_text = make(small), make(large)
        for surface, render in SURFACES.items():
            small_s = large_s = float("inf")
            for _ in range(repeats):
                small_s = min(small_s, _cpu_s(render, small_text))
                large_s = min(large_s, _cpu_s(render, large_text))
            timings.append(Timing(shape, surface, small_s, large_s))


def section(report: Report, *, small: int, large: int, repeats: int) -> None:
    """Run it; add its verdict and table to `report`."""
    timings = measure(small, large, repeats)
    worst = max(timings, key=lambda t: t.ratio)
    slowest = max(timings, key=lambda t: t.large_s)
    report.values["render.worst_ratio"] = worst.ratio
    report.values["render.slowest_large_s"] = slowest.large_s
    report.verdicts.append(
        Verdict(
            f"10. rendering untrusted text: time at {large:,} / at {small:,} characters, "
            f"worst of {len(SHAPES)} shapes x {len(SURFACES)} surfaces",
            f"≤ {TARGET_RATIO:.0f}",
            f"{worst.ratio:.1f} ({worst.shape}, {worst.surface}); slowest at {large:,}: "
            f"{slowest.large_s * 1000:.0f} ms ({slowest.shape}, {slowest.surface})",
            worst.ratio <= TARGET_RATIO,
        )
    )
    report.tables.append(
        Table(
            "10. Rendering untrusted text: time against its length",
            ("shape", "surface", f"CPU ms at {small:,}", f"CPU ms at {large:,}", "ratio"),
            [
                (
                    t.shape,
                    t.surface,
                    f"{t.small_s * 1000:.1f}",
                    f"{t.large_s * 1000:.1f}",
                    f"{t.ratio:.1f}",
                )
                for t in timings
            ],
            (
                "Each text is one shape repeated to the length (`bench.rendering.SHAPES`), "
                "rendered by the pure functions the app calls (`bench.rendering.channel` and "
                "`.dm`); CPU time of the rendering thread (`time.thread_time`), the best of the "
                "repeats, the two sizes in turn, garbage collection off while timed.",
                "channel: the growing answer's parts as the answer stream cuts them, the final "
                "answer messages, their plain fallback, a subtask's full output, the plan's "
                "preview and goal lines. DM stream: two streamed writes, the end's cut and its "
                "continuation, the edit of an expired stream.",
                "Linear time gives a ratio of about 10 (fixed costs make it less); before the "
                "fix, a `[\\` run took 3.2 s at 40,000 characters in a channel.",
            ),
        )
    )
