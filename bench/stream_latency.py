"""Benchmark 8: the answer streams. `runs` /research at once (one channel each, strict Slack
limits), each integrator streaming a long answer: per run, the time from the integrator's
first token leaving the fake Claude to the first words of the answer in a Slack post.

Each run's calls are told apart by a tag in its goal, which the scripted plan copies into
every subtask's input (and so into the integrator's prompt)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from bench.driver import send, signed_command
from bench.plans import independent
from bench.report import Report, Table, Verdict
from bench.slack_priority import _posts, _uncapped_world, _until, whole_answers
from bench.stats import percentile
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply

TARGET_S = 1.5  # the bound on first words after the first token
_TAG = re.compile(r"\[t(\d+)\]")
_BODY = " ".join(f"Finding {i} is explained in a sentence of its own." for i in range(120))


@dataclass(frozen=True)
class Streaming:
    """How soon each run's answer showed."""

    runs: int
    first_words_s: list[float]  # per run: first post with its words - the first token
    answered: int
    rate_limited: int


def _answer(tag: str) -> str:
    return f"Answer{tag}: {_BODY}"


def _script(claude: FakeAnthropic, latency: float) -> None:
    def plan(call: CallInfo) -> Reply:
        found = _TAG.search(call.user_text)
        tagged = simple_plan("goal")
        for task in tagged["subtasks"]:
            task["input"] = f"{task['input']} {found.group(0) if found else ''}"
        return Reply(json=tagged, latency=latency / 2)

    def integrate(call: CallInfo) -> Reply:
        found = _TAG.search(call.user_text)
        return Reply(text=_answer(found.group(1) if found else "?"), latency=latency * 3)

    claude.respond("orchestrator", plan)
    claude.respond("subagent", lambda call: Reply(text="Findings.", latency=latency))
    claude.respond("integrator", integrate)


async def streaming(runs: int, latency: float, within: float = 180) -> Streaming:
    """`runs` runs at once; when each one's first answer words reached Slack."""
    case = independent("streaming", 3, latency)
    async with _uncapped_world(case, runs) as world:
        _script(world.claude, latency)
        await asyncio.gather(
            *(
                send(
                    world.http,
                    world.app.url,
                    signed_command(world.slack, f"[t{i}] question", user=f"U{i}", channel=f"T{i}"),
                )
                for i in range(runs)
            )
        )

        def answered() -> int:
            return len(whole_answers(world.slack, "Answer"))

        await _until(world.slack, lambda: answered() >= runs, within)
        first_words: list[float] = []
        for call in world.claude.calls_for("integrator"):
            found = _TAG.search(str(call.body.get("messages")))
            if found is None or call.first_text_at is None:
                continue
            words = f"Answer{found.group(1)}:"
            posted = [c.at for c in _posts(world.slack) if words in str(c.args.get("text"))]
            if posted:
                first_words.append(min(posted) - call.first_text_at)
        return Streaming(runs, first_words, answered(), world.slack.rate_limited_count)


async def section(report: Report, *, runs: int, latency: float) -> None:
    """Run it; add its verdict and table to `report`."""
    result = await streaming(runs, latency)
    times = result.first_words_s or [float("inf")]
    p50, p95 = percentile(times, 50), percentile(times, 95)
    report.values["stream.first_words_p50"] = p50
    report.values["stream.first_words_p95"] = p95
    report.verdicts.append(
        Verdict(
            f"8. streaming: first answer words after the integrator's first token, {runs} runs",
            f"p95 ≤ {TARGET_S} s, all answered, 0 429s",
            f"p50 {p50:.2f} s, p95 {p95:.2f} s, {result.answered}/{runs} answered, "
            f"{result.rate_limited} 429s",
            p95 <= TARGET_S and result.answered >= runs and result.rate_limited == 0,
        )
    )
    report.tables.append(
        Table(
            "8. Streaming answers in channels, strict rate limits",
            ("runs at once", "first words p50 s", "first words p95 s", "max s", "answered"),
            [
                (
                    str(runs),
                    f"{p50:.2f}",
                    f"{p95:.2f}",
                    f"{max(times):.2f}",
                    f"{result.answered}/{runs}",
                )
            ],
            (
                "From the fakes' logs: the fake Claude's first text delta of each run's "
                "integrator to the fake Slack's first post holding that answer's first words.",
            ),
        )
    )
