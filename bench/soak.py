"""`make soak`: many runs through the real app with seeded random faults on both fakes.

Afterwards every run must be accounted for (answered, failed with a message, cancelled, or
its requester told privately), nothing unhandled may have been logged, and no run task may
be left behind. `python -m bench.soak --runs 200 --seed 7`; the test suite runs it small."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from bot.render.messages import CANCEL_ACTION
from bot.slack.pacing import Limit, Pacer
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import numbered_aspects, simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world, world_settings

CLAUDE_FAULTS: dict[str, dict[str, Any]] = {
    "429": {"status": 429, "retry_after": 0.05},
    "529": {"status": 529, "retry_after": 0.05},
    "500": {"status": 500},
    "reset": {"reset": True},
    "hang": {"hang": True},
    "truncated": {"truncate_stream": True},
    "malformed": {"malformed": True},
}
SLACK_FAULTS: dict[str, dict[str, Any]] = {
    "429": {"status": 429, "error": "ratelimited", "retry_after": 0},
    "500": {"status": 500, "error": "internal_error"},
    "ratelimited": {"error": "ratelimited", "retry_after": 0},
    "channel_not_found": {"error": "channel_not_found", "times": None},
    "invalid_blocks": {"error": "invalid_blocks", "times": None},
    "reset": {"reset": True},
    "lost_reply": {"lost_reply": True},
}
_TAG = re.compile(r"\[soak-(\d+)\]")
# Generous pacing: the soak is about faults, not Slack's workspace-wide chat.update tier.
_SOAK_LIMITS = {"chat.postMessage": Limit(per_second=1.0, burst=3)}


@dataclass
class Report:
    """What the soak saw; `ok` when every run is accounted for and nothing leaked."""

    runs: int
    seed: int
    elapsed_s: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    unaccounted: list[int] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    tasks_left: int = 0
    stray_tasks: int = 0

    @property
    def ok(self) -> bool:
        """Every run accounted for, nothing unhandled, no task left behind."""
        return not self.unaccounted and not self.unhandled and not self.tasks_left

    def lines(self) -> list[str]:
        """The report as printable lines."""
        return [
            f"soak: {self.runs} runs, seed {self.seed}, {self.elapsed_s:.1f}s",
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())),
            "faults: " + ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())),
            f"unaccounted runs: {self.unaccounted or 'none'}",
            f"unhandled errors logged: {len(self.unhandled)}",
            f"run tasks left: {self.tasks_left}; other stray tasks: {self.stray_tasks}",
            "OK" if self.ok else "FAILED",
        ]


class _Errors(logging.Handler):
    """Collects every ERROR record: in a soak, any of them is a finding."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        where = ""
        if record.exc_info and record.exc_info[2] is not None:
            frame = record.exc_info[2]
            while frame.tb_next is not None:
                frame = frame.tb_next
            code = frame.tb_frame.f_code
            where = f" ({record.exc_info[0].__name__ if record.exc_info[0] else ''} at "
            where += f"{code.co_filename.rsplit('/', 2)[-1]}:{frame.tb_lineno} in {code.co_name})"
        self.seen.append(f"{record.name}: {record.getMessage()}{where}")


def _tag(call: CallInfo) -> int | None:
    found = _TAG.search(call.user_text) or _TAG.search(call.system_text)
    return int(found.group(1)) if found else None


def _plan(call: CallInfo) -> Reply:
    """A plan whose subtasks carry the run's tag, so faults can target one run's calls."""
    tag = _TAG.search(call.user_text)
    label = tag.group(0) if tag else ""
    aspects = [replace(a, system_prompt=f"{a.system_prompt} {label}") for a in numbered_aspects(3)]
    plan = simple_plan("Research the goal.", aspects, depends={"s3": ["s1"]})
    return Reply(json=plan, latency=0.05)


def _arm(rng: random.Random, n: int, claude: FakeAnthropic, slack: FakeSlack) -> str:
    """Arm this run's fault (or none); returns its name."""
    kind = rng.choices(["none", "claude", "slack", "cancel"], weights=[3, 4, 2, 1])[0]
    if kind == "claude":
        role = rng.choice(["orchestrator", "subagent", "integrator"])
        name = rng.choice(list(CLAUDE_FAULTS))
        times = rng.choice([1, None])
        target = rng.choice([1, 2, 3])

        def match(call: CallInfo, role: str = role, target: int = target) -> bool:
            if call.role != role or _tag(call) != n:
                return False
            return role != "subagent" or f"aspect {target}" in call.system_text

        claude.inject(Fault(match=match, times=times, **CLAUDE_FAULTS[name]))
        return f"claude {role} {name} {'once' if times else 'always'}"
    if kind == "slack":
        method = rng.choice(["chat.postMessage", "chat.update"])
        name = rng.choice(list(SLACK_FAULTS))
        spec = dict(SLACK_FAULTS[name])
        channel = f"CS{n}"
        slack.fail(method, match=lambda args, c=channel: args.get("channel") == c, **spec)
        return f"slack {method} {name}"
    return kind


def _outcome(world: World, n: int) -> str | None:
    """How run `n` visibly ended, or None if it did not."""
    slack, channel = world.slack, f"CS{n}"
    if slack.responses_to.get(str(n)):
        return "told privately"
    roots = slack.channel_messages(channel)
    if not roots:
        return None
    text = "\n".join(m.visible_text() for m in slack.thread(channel, roots[0].ts))
    if "Cancelled by" in text:
        return "cancelled"
    if ":warning:" in text and "Not included" not in text:
        return "failed with a message"
    if ":stopwatch:" in text:
        return "answered (partial)" if "Not included" in text else "answered"
    return None


async def _one(world: World, n: int, cancel: bool, rng_delay: float) -> None:
    await asyncio.sleep(rng_delay)
    await world.command(
        f"[soak-{n}] research topic {n}", channel=f"CS{n}", user=f"U{n}", reply_to=str(n)
    )
    if cancel:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            live = [r for r in world.deps.runs.running if r.channel == f"CS{n}" and r.view]
            if live and live[0].view and live[0].view.plan is not None:
                await world.click(
                    CANCEL_ACTION,
                    live[0].run_id,
                    message_ts=str(live[0].plan_ts),
                    thread_ts=live[0].thread_ts,
                    user=f"U{n}",
                    channel=f"CS{n}",
                )
                return
            await asyncio.sleep(0.02)


async def soak(runs: int = 200, seed: int = 7, parallel: int = 25) -> Report:
    """Run the soak and report; bounded by a timeout proportional to `runs`."""
    rng = random.Random(seed)
    report = Report(runs, seed)
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, ctx: errors.seen.append(str(ctx.get("message"))))
    config = PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=0.5, call_timeout_s=0.5, max_attempts=2
    )
    started = time.monotonic()
    tasks_before = len(asyncio.all_tasks())
    try:
        async with FakeSlack() as slack, FakeAnthropic() as claude:
            claude.respond("orchestrator", _plan)
            claude.respond(
                "subagent", lambda c: Reply(text=f"result {rng.random():.3f}", latency=0.1)
            )
            client = make_client(claude.api_key, claude.base_url, 5)
            settings = world_settings(slack, update_interval_s=0.2)
            pacer = Pacer(_SOAK_LIMITS)
            async with running_world(
                slack, AnthropicLLM(client), config, settings, pacer=pacer
            ) as world:
                gate = asyncio.Semaphore(parallel)

                async def gated(n: int) -> None:
                    fault = _arm(rng, n, claude, slack)
                    report.faults[fault.split(" ")[0]] += 1
                    delay = rng.random() * 0.2
                    async with gate:
                        await _one(world, n, fault == "cancel", delay)
                        # Polling on purpose: the run starts after the ack, in the app, so
                        # wait for its visible end and its task both (bounded: a run that
                        # never ends is reported unaccounted).
                        deadline = time.monotonic() + 30
                        while time.monotonic() < deadline and (  # noqa: ASYNC110
                            _outcome(world, n) is None
                            or any(r.channel == f"CS{n}" for r in world.deps.runs.running)
                        ):
                            await asyncio.sleep(0.05)

                async with asyncio.timeout(30 + runs * 1.5):
                    await asyncio.gather(*(gated(n) for n in range(runs)))
                for n in range(runs):
                    outcome = _outcome(world, n)
                    if outcome is None:
                        report.unaccounted.append(n)
                    else:
                        report.outcomes[outcome] += 1
                report.tasks_left = world.deps.runs.task_count
            await client.close()
    finally:
        logging.getLogger().removeHandler(errors)
        loop.set_exception_handler(None)
    report.elapsed_s = time.monotonic() - started
    report.unhandled = errors.seen
    report.stray_tasks = max(0, len(asyncio.all_tasks()) - tasks_before)
    return report


def main(argv: list[str] | None = None) -> int:
    """Entry point of `make soak`."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # findings are collected, not printed
    report = asyncio.run(soak(args.runs, args.seed))
    print("\n".join(report.lines()))
    for line in report.unhandled[:20]:
        print(f"  unhandled: {line}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
