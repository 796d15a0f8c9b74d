"""Offline demo mode for the fake Claude: a plausible plan for the typed goal, placeholder
results that say they are placeholders, and a streamed answer, at realistic latencies.

The web flow too: research subtasks ask for the web, search it and cite placeholder pages
on example.com (titles say so); the answer cites those pages as [n], numbered as the
integrator was given them; the writing subtasks work without the web."""

from __future__ import annotations

import contextlib
import dataclasses
import html
import random
import re
from collections.abc import AsyncIterator
from typing import Any

from pipeline.testing import Aspect, simple_plan
from sandbox.fakes.claude import (
    CallInfo,
    Citation,
    FakeAnthropic,
    Fault,
    Reply,
    Search,
    question_or_plan,
)

PLACEHOLDER = "_(offline demo placeholder: no model was called)_"
FLAKY = "[flaky]"  # in a goal: each subtask's first call is rate limited, then retried
BROKEN = "[broken]"  # in a goal: one subtask fails on every try of its run; Retry mends it
VAGUE = "[vague]"  # in a goal: the orchestrator asks one clarifying question before it plans
VAGUE_QUESTION = "Which matters most to you here: cost, speed or reliability?"
_FLAKY_MARK = "(demo: flaky)"  # carried in system prompts, where the fake can see it
_BROKEN_MARK = "(demo: broken)"
# With [flaky], one research subtask also finds the web search down and answers from memory.
_SEARCH_DOWN_MARK = "(demo: search unavailable)"
_GOAL = re.compile(r"<goal>\s*(.*?)\s*</goal>", re.DOTALL)
_CONTEXT = re.compile(r"<thread_context>\s*(.*?)\s*</thread_context>", re.DOTALL)
# The integrator's request: each result with the numbers of the sources it used, and the
# numbered list itself ("[n] title <url>" a line); the demo answer cites only those numbers.
_RESULT = re.compile(r'<result role="([^"]*)"(?: sources="([\d,]*)")?>')
_SOURCES = re.compile(r"<sources>\n(.*?)\n</sources>", re.DOTALL)
_SOURCE_NUMBER = re.compile(r"^\[(\d+)\] ", re.MULTILINE)
_SUBAGENT_ROLE = re.compile(r"You are the team's (.+?)\. Be concise")
PLACEHOLDER_HOST = "example.com"
MAX_SUBTASKS = 5  # the pipeline's default maximum
# How fast the demo integrator writes: slower than Claude (some hundreds a second), so a
# person watching the sandbox sees the answer grow rather than appear.
WRITING_CHARS_PER_S = 150


def goal_of(call: CallInfo) -> str:
    """The user's goal from the orchestrator request."""
    found = _GOAL.search(call.user_text)
    return (found.group(1) if found else call.user_text).strip()


def context_of(call: CallInfo) -> str | None:
    """The thread's earlier messages from the orchestrator request, when it has them."""
    found = _CONTEXT.search(call.user_text)
    return found.group(1).strip() if found else None


def _context_subtask(context: str) -> tuple[str, str, bool]:
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
        False,  # the thread is its source, not the web
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

    The research subtasks ask for the web (`needs_web`); the comparison, the recommendations
    and the thread reader work without it, as a real plan would have them. With a thread's
    earlier messages as `context` (a mention inside a thread), the first subtask reads them,
    so the plan shows the thread was used. `[flaky]` in the goal makes every subtask's first
    call rate limited and the last research subtask's web search unavailable; `[broken]`
    makes the first subtask fail on every try of its run (its dependents are skipped, the
    answer names it), and succeed when retried. The demo only chooses the aspects;
    `simple_plan` builds the plan, as it does for every fake."""
    short = goal.replace(FLAKY, "").replace(BROKEN, "").strip()[:200]
    aspects, joins = _aspects(goal, short)  # joins: the last subtask needs all the others
    if context:
        aspects.insert(0, _context_subtask(context))
    if len(aspects) > MAX_SUBTASKS:  # keep the reader and the editor, drop an analyst
        aspects = [*aspects[: MAX_SUBTASKS - 1], aspects[-1]]
    web = [f"s{i}" for i, (_, _, needs_web) in enumerate(aspects, start=1) if needs_web]
    chosen = []
    for i, (role, task, _) in enumerate(aspects, start=1):
        marks = [_FLAKY_MARK] if FLAKY in goal else []
        marks += [_SEARCH_DOWN_MARK] if FLAKY in goal and web and f"s{i}" == web[-1] else []
        marks += [_BROKEN_MARK] if BROKEN in goal and i == 1 else []
        prompt = " ".join([f"You are the team's {role.lower()}. Be concise and concrete.", *marks])
        chosen.append(Aspect(role, task, prompt))
    last = len(chosen)
    depends = {f"s{last}": [f"s{n}" for n in range(1, last)]} if joins else {}
    goal_line = f"Research: {short}" + (" (a follow-up in this thread)" if context else "")
    return simple_plan(goal_line, chosen, depends=depends, needs_web=web)


def _aspects(goal: str, short: str) -> tuple[list[tuple[str, str, bool]], bool]:
    """(role, task, needs the web) per subtask, and whether the last one compares the others."""
    items = _items(short)
    if len(items) >= 2:
        analysts = [
            (
                f"Analyst of {item}",
                f"Summarise strengths, weaknesses and typical use of {item}.",
                True,
            )
            for item in items
        ]
        return [
            *analysts,
            ("Comparison editor", f"Compare the options side by side for: {short}", False),
        ], True
    if re.search(r"\bthree\b|\b3\b", goal) and "compar" in goal.lower():
        analysts = [
            (
                f"Analyst of option {n}",
                f"Pick a leading option #{n} for '{short}' and profile it.",
                True,
            )
            for n in (1, 2, 3)
        ]
        return [
            *analysts,
            ("Comparison editor", f"Compare the profiled options for: {short}", False),
        ], True
    facets = [
        ("Background researcher", True),
        ("Key-facts analyst", True),
        ("Risk assessor", True),
        ("Recommendations writer", False),  # writes from the others' findings, in its words
    ]
    return [(f, f"As the {f.lower()}, address: {short}", web) for f, web in facets], False


def placeholder_pages(role: str, count: int) -> list[tuple[str, str]]:
    """(url, title) of `count` placeholder pages for one subtask, unique to its role (the
    run numbers its sources by URL), on example.com, each title saying what it is."""
    slug = re.sub(r"[^a-z0-9]+", "-", role.lower()).strip("-") or "subtask"
    return [
        (
            f"https://{PLACEHOLDER_HOST}/demo/{slug}/{n}",
            f"Placeholder source: page {n} for the {role} (demo)",
        )
        for n in range(1, count + 1)
    ]


def _has_web_search(call: CallInfo) -> bool:
    """Whether the request offers the web search tool (the plan's needs_web, the settings)."""
    tools = call.body.get("tools") or []
    return any(isinstance(t, dict) and t.get("name") == "web_search" for t in tools)


def _findings(call: CallInfo, rng: random.Random) -> Reply:
    """A subagent's placeholder result: with the web, searched and cited; else from memory."""
    task = call.user_text.split("</input>")[0].replace("<input>", "").strip()
    text = f"{PLACEHOLDER}\n\n**Task:** {task[:300]}\n\n"
    unsourced = "- A first finding would go here.\n- A second one here."
    if not _has_web_search(call):
        return Reply(text=text + unsourced)
    if _SEARCH_DOWN_MARK in call.system_text:
        return Reply(text=text + unsourced, search_error="unavailable")
    found = _SUBAGENT_ROLE.search(call.system_text)
    pages = placeholder_pages(found.group(1) if found else "researcher", 3)
    query = " ".join(task.split())[:80]
    # One or two searches; each page a search found is cited once, by one finding a line.
    searches = [Search(query, pages[:2])]
    if rng.random() < 0.5:
        searches.append(Search(f"{query} (more)", pages[2:]))
    cited = [page for search in searches for page in search.results]
    citations = [
        Citation(
            f"- Finding {n} would go here, citing a placeholder page.\n",
            url,
            title,
            "Placeholder passage: a real page's quoted sentence would be here.",
        )
        for n, (url, title) in enumerate(cited, start=1)
    ]
    return Reply(text=text, searches=searches, citations=citations)


def _answer(call: CallInfo) -> str:
    """The integrator's placeholder answer: a line per result, citing the sources that
    result used as [n], with the numbers the integrator was given (and only those)."""
    listed = _SOURCES.search(call.user_text)
    known = {int(n) for n in _SOURCE_NUMBER.findall(listed.group(1))} if listed else set()
    lines = []
    for role, numbers in _RESULT.findall(call.user_text):
        cites = "".join(f"[{n}]" for n in numbers.split(",") if n and int(n) in known)
        lines.append(
            f"- **{html.unescape(role)}**: summarised from its placeholder result"
            + (f" {cites}." if cites else ".")
        )
    sections = "\n".join(lines)
    cited = (
        "\n\nNumbers like [1] cite the placeholder pages (on example.com) listed under Sources."
        if known
        else ""
    )
    return (
        f"### Demo answer\n\n{PLACEHOLDER}\n\nWith a real API key, Claude would merge these "
        f"parts into one answer:\n\n{sections}{cited}\n\n"
        "Set `ANTHROPIC_API_KEY` to see real research."
    )


def install_demo(fake: FakeAnthropic, *, speed: float = 1.0, seed: int | None = None) -> None:
    """Make `fake` answer like a small, slow-ish, clearly labelled offline model."""
    rng = random.Random(seed)  # noqa: S311 - latencies for a demo, not security

    def plan(call: CallInfo) -> Reply:
        goal = goal_of(call)
        plan = demo_plan(goal.replace(VAGUE, "").strip(), context_of(call))
        latency = rng.uniform(1.0, 2.0) * speed
        if VAGUE in goal:  # a question where the request offers one (the first), then a plan
            return question_or_plan(call, VAGUE_QUESTION, plan, latency)
        return Reply(json=plan, latency=latency)

    def subagent(call: CallInfo) -> Reply:
        reply = _findings(call, rng)
        return dataclasses.replace(reply, latency=rng.uniform(1.5, 4.0) * speed)

    def integrator(call: CallInfo) -> Reply:
        # The fake spreads the text's chunks over the latency: the answer grows in its thread
        # for a few seconds (about 4 s for three analysts), visibly, edit by edit.
        answer = _answer(call)
        return Reply(text=answer, latency=len(answer) / WRITING_CHARS_PER_S * speed)

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

    fake.inject(Fault(match=flaky, times=None, status=429, retry_after=retry_after))
    fake.inject(Fault(match=BrokenOnce(), times=None, status=500))


class BrokenOnce:
    """The fault `[broken]` asks for, as a `Fault.match`: the first subtask of a run that
    planned a `[broken]` goal fails on every try until that run gives up on it (its
    integrator is called). A Retry reuses the plan, so it plans nothing and the subtask
    works; asking again plans again, and it fails again.

    It sees every orchestrator and integrator call (it never matches them): the demo's
    faults are the only ones, and the flaky one matches only subagent calls."""

    def __init__(self) -> None:
        self._failing: dict[str, str] = {}  # the failing subtask's input -> its run's goal

    def __call__(self, call: CallInfo) -> bool:
        match call.role:
            case "orchestrator":
                goal = goal_of(call)
                if BROKEN in goal:
                    first = demo_plan(goal, context_of(call))["subtasks"][0]
                    self._failing[str(first["input"])] = goal
                return False
            case "integrator":
                goal = goal_of(call)
                self._failing = {k: g for k, g in self._failing.items() if g != goal}
                return False
            case _:
                return _BROKEN_MARK in call.system_text and any(
                    task in call.user_text for task in self._failing
                )


@contextlib.asynccontextmanager
async def offline_demo(*, speed: float = 1.0) -> AsyncIterator[tuple[str, str]]:
    """The offline demo model served on loopback while the block runs: (api key, base URL),
    what `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` would be for real Claude."""
    async with FakeAnthropic() as fake:
        install_demo(fake, speed=speed)
        yield fake.api_key, fake.base_url
