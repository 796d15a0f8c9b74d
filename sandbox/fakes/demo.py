"""Offline demo mode for the fake Claude: a plausible plan for the typed goal, placeholder
results that say they are placeholders, and a streamed answer, at realistic latencies."""

from __future__ import annotations

import contextlib
import html
import random
import re
from collections.abc import AsyncIterator
from typing import Any

from pipeline.testing import Aspect, simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Fault, Reply

PLACEHOLDER = "_(offline demo placeholder: no model was called)_"
FLAKY = "[flaky]"  # in a goal: each subtask's first call is rate limited, then retried
BROKEN = "[broken]"  # in a goal: one subtask fails on every try
_FLAKY_MARK = "(demo: flaky)"  # carried in system prompts, where the fake can see it
_BROKEN_MARK = "(demo: broken)"
_GOAL = re.compile(r"<goal>\s*(.*?)\s*</goal>", re.DOTALL)
_CONTEXT = re.compile(r"<thread_context>\s*(.*?)\s*</thread_context>", re.DOTALL)
_ROLE = re.compile(r'<result role="([^"]*)">')
MAX_SUBTASKS = 5  # the pipeline's default maximum


def goal_of(call: CallInfo) -> str:
    """The user's goal from the orchestrator request."""
    found = _GOAL.search(call.user_text)
    return (found.group(1) if found else call.user_text).strip()


def context_of(call: CallInfo) -> str | None:
    """The thread's earlier messages from the orchestrator request, when it has them."""
    found = _CONTEXT.search(call.user_text)
    return found.group(1).strip() if found else None


def _context_subtask(context: str) -> tuple[str, str]:
    """A subtask that visibly uses a thread's earlier messages (one `<@U…>: text` a line)."""
    lines = [line for line in context.splitlines() if line.strip()]
    # Quote how the thread began, without ids or emoji codes, which read as noise here.
    first = re.sub(r"<@\w+>:?\s*|:[a-z_]+:", "", html.unescape(lines[0]) if lines else "")
    first = " ".join(first.split())[:100]
    count = f"{len(lines)} message{'s' if len(lines) != 1 else ''}"
    started = f", starting with “{first}”" if first else ""
    return (
        "Thread context reader",
        f"Use the thread's earlier messages ({count}{started}) to say what this follow-up "
        "refers to and what the thread already settled.",
    )


def _items(goal: str) -> list[str]:
    """Things a "compare A, B and C" goal names, if any."""
    match = re.search(r"compar\w*\s+(.*)", goal, re.IGNORECASE)
    if not match:
        return []
    names = [n.strip(" .?") for n in re.split(r",|\band\b|\bvs\.?\b|\bversus\b", match.group(1))]
    return [n for n in names if n and len(n) < 60][:4]


def demo_plan(goal: str, context: str | None = None) -> dict[str, Any]:
    """A believable plan: one subtask per compared thing plus a comparison, else four facets.

    With a thread's earlier messages as `context` (a mention inside a thread), the first
    subtask reads them, so the plan shows the thread was used. `[flaky]` in the goal makes
    every subtask's first call rate limited; `[broken]` makes the first subtask fail on every
    try (its dependents are skipped, the answer names it). The demo only chooses the
    aspects; `simple_plan` builds the plan, as it does for every fake."""
    short = goal.replace(FLAKY, "").replace(BROKEN, "").strip()[:200]
    aspects, joins = _aspects(goal, short)  # joins: the last subtask needs all the others
    if context:
        aspects.insert(0, _context_subtask(context))
    if len(aspects) > MAX_SUBTASKS:  # keep the reader and the editor, drop an analyst
        aspects = [*aspects[: MAX_SUBTASKS - 1], aspects[-1]]
    chosen = []
    for i, (role, task) in enumerate(aspects, start=1):
        marks = [_FLAKY_MARK] if FLAKY in goal else []
        marks += [_BROKEN_MARK] if BROKEN in goal and i == 1 else []
        prompt = " ".join([f"You are the team's {role.lower()}. Be concise and concrete.", *marks])
        chosen.append(Aspect(role, task, prompt))
    last = len(chosen)
    depends = {f"s{last}": [f"s{n}" for n in range(1, last)]} if joins else {}
    goal_line = f"Research: {short}" + (" (a follow-up in this thread)" if context else "")
    return simple_plan(goal_line, chosen, depends=depends)


def _aspects(goal: str, short: str) -> tuple[list[tuple[str, str]], bool]:
    """(role, task) per subtask, and whether the last one compares all the others."""
    items = _items(short)
    if len(items) >= 2:
        analysts = [
            (f"Analyst of {item}", f"Summarise strengths, weaknesses and typical use of {item}.")
            for item in items
        ]
        return [
            *analysts,
            ("Comparison editor", f"Compare the options side by side for: {short}"),
        ], True
    if re.search(r"\bthree\b|\b3\b", goal) and "compar" in goal.lower():
        analysts = [
            (f"Analyst of option {n}", f"Pick a leading option #{n} for '{short}' and profile it.")
            for n in (1, 2, 3)
        ]
        return [
            *analysts,
            ("Comparison editor", f"Compare the profiled options for: {short}"),
        ], True
    facets = [
        "Background researcher",
        "Key-facts analyst",
        "Risk assessor",
        "Recommendations writer",
    ]
    return [(f, f"As the {f.lower()}, address: {short}") for f in facets], False


def install_demo(fake: FakeAnthropic, *, speed: float = 1.0, seed: int | None = None) -> None:
    """Make `fake` answer like a small, slow-ish, clearly labelled offline model."""
    rng = random.Random(seed)  # noqa: S311 - latencies for a demo, not security

    def plan(call: CallInfo) -> Reply:
        plan = demo_plan(goal_of(call), context_of(call))
        return Reply(json=plan, latency=rng.uniform(1.0, 2.0) * speed)

    def subagent(call: CallInfo) -> Reply:
        task = call.user_text.split("</input>")[0].replace("<input>", "").strip()
        text = (
            f"{PLACEHOLDER}\n\n**Task:** {task[:300]}\n\n"
            "- A first finding would go here.\n- A second one here."
        )
        return Reply(text=text, latency=rng.uniform(1.5, 4.0) * speed)

    def integrator(call: CallInfo) -> Reply:
        roles = [html.unescape(role) for role in _ROLE.findall(call.user_text)]
        sections = "\n".join(
            f"- **{role}**: summarised from its placeholder result." for role in roles
        )
        text = (
            f"### Demo answer\n\n{PLACEHOLDER}\n\nWith a real API key, Claude would merge these "
            f"parts into one answer:\n\n{sections}\n\nSet `ANTHROPIC_API_KEY` to see real research."
        )
        return Reply(text=text, latency=2.0 * speed)

    fake.respond("orchestrator", plan)
    fake.respond("subagent", subagent)
    fake.respond("integrator", integrator)
    install_demo_faults(fake, retry_after=2.0 * speed)


def install_demo_faults(fake: FakeAnthropic, *, retry_after: float) -> None:
    """Faults a visitor asks for by tagging a goal (see `demo_plan`): retries, a failure."""
    first_tries: set[str] = set()

    def flaky(call: CallInfo) -> bool:
        if call.role != "subagent" or _FLAKY_MARK not in call.system_text:
            return False
        if call.user_text in first_tries:
            return False
        first_tries.add(call.user_text)
        return True

    def broken(call: CallInfo) -> bool:
        return call.role == "subagent" and _BROKEN_MARK in call.system_text

    fake.inject(Fault(match=flaky, times=None, status=429, retry_after=retry_after))
    fake.inject(Fault(match=broken, times=None, status=500))


@contextlib.asynccontextmanager
async def offline_demo(*, speed: float = 1.0) -> AsyncIterator[tuple[str, str]]:
    """The offline demo model served on loopback while the block runs: (api key, base URL),
    what `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` would be for real Claude."""
    async with FakeAnthropic() as fake:
        install_demo(fake, speed=speed)
        yield fake.api_key, fake.base_url
