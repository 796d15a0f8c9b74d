"""End to end: a run that searches the web answers with numbered citations and a Sources list
whose hosts are visible, and counts and prices its searches exactly."""

from __future__ import annotations

import dataclasses
import re

import pytest

from pipeline import PipelineConfig, Usage, cost_of
from sandbox.fakes.claude import CallInfo, Citation, FakeAnthropic, Reply, Search
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

PAGES = [
    ("https://tides.example/moon", "How the Moon drives tides"),
    ("https://docs.example/sun", "Solar tides [explained]"),
]


def _plan() -> dict[str, object]:
    def task(i: int, needs_web: bool) -> dict[str, object]:
        return {
            "id": f"s{i}",
            "role": f"Researcher of aspect {i}",
            "system_prompt": f"You research aspect {i} of the goal.",
            "input": f"Describe aspect {i}.",
            "needs_web": needs_web,
        }

    return {"goal": "Explain tides.", "subtasks": [task(1, True), task(2, True), task(3, False)]}


def _subagent(call: CallInfo) -> Reply:
    if "aspect 1" in call.user_text:
        return Reply(
            text="Tides come from the Moon and the Sun. ",
            searches=[Search("moon tides", PAGES)],
            citations=[
                Citation("The Moon pulls the oceans.", *PAGES[0], "the moon pulls"),
                Citation("The Sun adds a smaller pull.", *PAGES[1], "the sun adds"),
            ],
        )
    if "aspect 2" in call.user_text:
        return Reply(text="From memory: spring tides.", search_error="unavailable")
    return Reply(text="Reasoned without the web.")


async def test_the_answer_cites_numbered_sources_with_visible_hosts(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> None:
    fake_claude.respond_plan(_plan())
    fake_claude.respond("subagent", _subagent)
    fake_claude.respond("integrator", lambda c: Reply(text="The Moon leads [1]; the Sun adds [2]."))
    await world.command("explain tides", user="U42")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: "Sources" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)

    # The integrator was given the numbering the Sources list shows.
    prompt = fake_claude.calls_for("integrator")[0].body["messages"][0]["content"]
    assert f"[1] How the Moon drives tides <{PAGES[0][0]}>" in str(prompt)
    assert f"[2] Solar tides [explained] <{PAGES[1][0]}>" in str(prompt)

    thread = fake_slack.thread("C1", root)
    answer = thread_text(thread[2:])
    assert "The Moon leads [1]; the Sun adds [2]." in answer
    listed = answer.split("Sources", 1)[1]
    assert re.search(r"1\. \S*How the Moon drives tides \(tides\.example\)", listed), listed
    assert re.search(r"2\. \S*Solar tides .*explained.* \(docs\.example\)", listed), listed
    assert listed.index("tides.example") < listed.index("docs.example")

    plan = thread[1].visible_text()
    assert "1 search · 2 sources" in plan
    assert "search unavailable, answered from memory" in plan

    # Searches are counted from the fake's own usage and priced at $10 per 1,000.
    reported = fake_claude.total_usage()
    assert reported.web_search_requests == 1
    costs = [
        cost_of(Usage(**dataclasses.asdict(c.usage)), c.body["model"], config)
        for c in fake_claude.calls
        if c.usage is not None and c.status == 200
    ]
    cost = sum(c for c in costs if c is not None)
    assert "1 web search ($0.0100)" in answer
    assert f"≈ ${cost:.4f}" in answer
