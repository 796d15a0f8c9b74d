"""Benchmark 13: steering (issue 22.2). `runs` /research at once (one channel each, strict
Slack limits); while every run's subagents are working, each run is steered once by a
mention in its thread, all at the same moment: per run, the time from the mention leaving
the driver to its "Steering noted" note in the fake Slack. Target: p99 ≤ 2 s."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from bench.driver import SECRET, Signed, send, signed_command
from bench.plans import independent
from bench.report import Report, Table, Verdict
from bench.scripting import ANSWER
from bench.slack_priority import _posts, _uncapped_world, _until, whole_answers
from bench.stats import percentile
from sandbox.fakes import signing
from sandbox.fakes.slack import FakeSlack

TARGET_S = 2.0  # the bound on the note after the mention
NOTE = "Steering noted"


@dataclass(frozen=True)
class Steering:
    """How soon each steer was noted."""

    runs: int
    noted_s: list[float]  # per run: the note's post - the mention sent
    answered: int
    rate_limited: int


def _mention(slack: FakeSlack, channel: str, root: str, text: str) -> Signed:
    """A person's mention of the app in the run's thread, signed now."""
    ts = slack.add_user_message(channel, "U2", text, thread_ts=root)
    body, kind = signing.mention_event(
        text=text, user="U2", channel=channel, ts=ts, thread_ts=root, event_id=f"Ev{channel}{ts}"
    )
    return Signed(body, {"Content-Type": kind, **signing.sign(SECRET, body)})


async def steering(runs: int, latency: float, within: float = 180) -> Steering:
    """`runs` runs at once, each steered once while its subagents work (`latency` each)."""
    case = independent("steering", 3, latency, plan_latency=0.1, integrator_latency=0.1)
    channels = [f"S{i}" for i in range(runs)]
    async with _uncapped_world(case, runs) as world:
        slack = world.slack
        await asyncio.gather(
            *(
                send(
                    world.http,
                    world.app.url,
                    signed_command(slack, "question", user="U1", channel=c),
                )
                for c in channels
            )
        )
        # Every run planned and calling its subagents: live, and steerable.
        async with asyncio.timeout(within):
            while len(world.claude.calls_for("subagent")) < 3 * runs:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        roots = {c: slack.channel_messages(c)[0].ts for c in channels}
        mentions = {c: _mention(slack, c, roots[c], "<@UBOT> focus on costs") for c in channels}
        sent: dict[str, float] = {}

        async def steer(channel: str) -> None:
            sent[channel] = time.monotonic()
            await send(world.http, world.app.url, mentions[channel])

        await asyncio.gather(*(steer(c) for c in channels))

        def noted() -> dict[str, float]:
            found: dict[str, float] = {}
            for call in _posts(slack):
                channel = str(call.args.get("channel"))
                if channel in sent and NOTE in str(call.args.get("text")):
                    found.setdefault(channel, call.at)
            return found

        await _until(slack, lambda: len(noted()) >= runs, within)
        times = [at - sent[channel] for channel, at in noted().items()]
        # The steered runs go on to their answers (reported, not the target: on a busy
        # machine 100 answers under strict Slack limits may take longer than the window).
        with contextlib.suppress(TimeoutError):
            await _until(slack, lambda: len(whole_answers(slack, ANSWER)) >= runs, within)
        return Steering(runs, times, len(whole_answers(slack, ANSWER)), slack.rate_limited_count)


async def section(report: Report, *, runs: int, latency: float) -> None:
    """Run it; add its verdict and table to `report`."""
    result = await steering(runs, latency)
    times = result.noted_s or [float("inf")]
    p50, p99 = percentile(times, 50), percentile(times, 99)
    report.values["steering.noted_p50"] = p50
    report.values["steering.noted_p99"] = p99
    report.values["steering.noted"] = float(len(result.noted_s))
    report.verdicts.append(
        Verdict(
            f"13. steering: {runs} live runs each steered once, at the same moment",
            f"'{NOTE}' p99 ≤ {TARGET_S} s after the mention, every steer noted",
            f"p50 {p50:.2f} s, p99 {p99:.2f} s, {len(result.noted_s)}/{runs} noted, "
            f"{result.answered}/{runs} answered, {result.rate_limited} 429s",
            p99 <= TARGET_S and len(result.noted_s) == runs,
        )
    )
    report.tables.append(
        Table(
            "13. Steering notes under load, strict rate limits",
            ("runs steered at once", "note p50 s", "note p99 s", "max s", "answered", "429s"),
            [
                (
                    str(runs),
                    f"{p50:.2f}",
                    f"{p99:.2f}",
                    f"{max(times):.2f}",
                    f"{result.answered}/{runs}",
                    str(result.rate_limited),
                )
            ],
            (
                "From the driver's clock and the fake Slack's log (one clock): each mention "
                "sent to the fake Slack's first chat.postMessage in that channel saying "
                f"'{NOTE}'. The runs' subagents are all in flight when the mentions go; "
                "'answered': whole answers within the window after the notes.",
            ),
        )
    )
