"""Offline demo mode for the fake Claude: a plausible plan for the typed goal, placeholder
results that say they are placeholders, and a streamed answer, at realistic latencies."""

from __future__ import annotations

import html
import random
import re
from typing import Any

from sandbox.fakes.claude import CallInfo, FakeAnthropic, Fault, Reply

PLACEHOLDER = "_(offline demo placeholder: no model was called)_"
FLAKY = "[flaky]"  # in a goal: each subtask's first call is rate limited, then retried
BROKEN = "[broken]"  # in a goal: one subtask fails on every try
_FLAKY_MARK = "(demo: flaky)"  # carried in system prompts, where the fake can see it
_BROKEN_MARK = "(demo: broken)"
_GOAL = re.compile(r"<goal>\s*(.*?)\s*</goal>", re.DOTALL)
_ROLE = re.compile(r'<result role="([^"]*)">')


def goal_of(call: CallInfo) -> str:
    """The user's goal from the orchestrator request."""
    found = _GOAL.search(call.user_text)
    return (found.group(1) if found else call.user_text).strip()


def _items(goal: str) -> list[str]:
    """Things a "compare A, B and C" goal names, if any."""
    match = re.search(r"compar\w*\s+(.*)", goal, re.IGNORECASE)
    if not match:
        return []
    names = [n.strip(" .?") for n in re.split(r",|\band\b|\bvs\.?\b|\bversus\b", match.group(1))]
    return [n for n in names if n and len(n) < 60][:4]


def demo_plan(goal: str) -> dict[str, Any]:
    """A believable plan: one subtask per compared thing plus a comparison, else four facets.

    `[flaky]` in the goal makes every subtask's first call rate limited; `[broken]` makes the
    first subtask fail on every try (its dependents are skipped, the answer names it)."""
    short = goal.replace(FLAKY, "").replace(BROKEN, "").strip()[:200]
    items = _items(short)
    if len(items) >= 2:
        aspects = [
            (f"Analyst of {item}", f"Summarise strengths, weaknesses and typical use of {item}.")
            for item in items
        ]
        depends = [f"s{i}" for i in range(1, len(aspects) + 1)]
        aspects.append(("Comparison editor", f"Compare the options side by side for: {short}"))
    elif re.search(r"\bthree\b|\b3\b", goal) and "compar" in goal.lower():
        aspects = [
            (f"Analyst of option {n}", f"Pick a leading option #{n} for '{short}' and profile it.")
            for n in (1, 2, 3)
        ]
        depends = ["s1", "s2", "s3"]
        aspects.append(("Comparison editor", f"Compare the profiled options for: {short}"))
    else:
        facets = [
            "Background researcher",
            "Key-facts analyst",
            "Risk assessor",
            "Recommendations writer",
        ]
        aspects = [(f, f"As the {f.lower()}, address: {short}") for f in facets]
        depends = []
    subtasks = []
    for i, (role, task) in enumerate(aspects, start=1):
        last = i == len(aspects)
        marks = [_FLAKY_MARK] if FLAKY in goal else []
        marks += [_BROKEN_MARK] if BROKEN in goal and i == 1 else []
        subtasks.append(
            {
                "id": f"s{i}",
                "role": role,
                "system_prompt": " ".join(
                    [f"You are the team's {role.lower()}. Be concise and concrete.", *marks]
                ),
                "input": task,
                "output_format": "markdown",
                "depends_on": depends if last and depends else [],
            }
        )
    return {"goal": f"Research: {short}", "subtasks": subtasks[:5]}


def install_demo(fake: FakeAnthropic, *, speed: float = 1.0, seed: int | None = None) -> None:
    """Make `fake` answer like a small, slow-ish, clearly labelled offline model."""
    rng = random.Random(seed)  # noqa: S311 - latencies for a demo, not security

    def plan(call: CallInfo) -> Reply:
        return Reply(json=demo_plan(goal_of(call)), latency=rng.uniform(1.0, 2.0) * speed)

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
