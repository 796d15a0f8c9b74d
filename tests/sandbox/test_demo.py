"""The offline demo model: plausible plans, labelled placeholders (placeholder web sources
too), and faults on request."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import pytest

from bot.render.messages import RETRY_ACTION
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.demo import PLACEHOLDER, demo_plan, install_demo, placeholder_pages
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World, running_world
from tests.e2e.conftest import eventually, thread_text


def test_compare_goals_get_one_analyst_per_option_and_an_editor() -> None:
    plan = demo_plan("compare Postgres, MySQL and SQLite [flaky]")
    roles = [s["role"] for s in plan["subtasks"]]
    assert roles == [
        "Analyst of Postgres",
        "Analyst of MySQL",
        "Analyst of SQLite",
        "Comparison editor",
    ]
    assert plan["subtasks"][-1]["depends_on"] == ["s1", "s2", "s3"]
    assert "[flaky]" not in plan["goal"]


def test_other_goals_get_four_facets() -> None:
    plan = demo_plan("what is RAG?")
    assert len(plan["subtasks"]) == 4
    assert all(not s["depends_on"] for s in plan["subtasks"])


def test_a_follow_up_plan_first_reads_the_thread() -> None:
    context = (
        "<@UBOT>: :mag: <@U1> asked Orchestra to research: compare Postgres and MySQL\n"
        "<@UBOT>: Plan: Research: compare Postgres and MySQL"
    )
    plan = demo_plan("what about cost?", context)
    reader = plan["subtasks"][0]
    assert reader["role"] == "Thread context reader"
    assert reader["input"].startswith(
        "Use the thread's earlier messages (2 messages, starting with "
        "“asked Orchestra to research: compare Postgres and MySQL”)"
    )
    assert plan["goal"] == "Research: what about cost? (a follow-up in this thread)"
    assert len(plan["subtasks"]) == 5


def test_a_follow_up_comparison_keeps_its_editor_within_five_subtasks() -> None:
    plan = demo_plan("compare A, B, C and D", "<@U1>: earlier")
    roles = [s["role"] for s in plan["subtasks"]]
    assert roles[0] == "Thread context reader"
    assert roles[-1] == "Comparison editor"
    assert len(roles) == 5
    assert plan["subtasks"][-1]["depends_on"] == ["s1", "s2", "s3", "s4"]


def test_research_subtasks_ask_for_the_web_and_writing_ones_do_not() -> None:
    def web(plan: dict[str, object]) -> list[tuple[str, bool]]:
        subtasks = plan["subtasks"]
        assert isinstance(subtasks, list)
        return [(s["role"], s.get("needs_web", False)) for s in subtasks]

    assert web(demo_plan("compare Postgres and MySQL", "<@U1>: earlier")) == [
        ("Thread context reader", False),
        ("Analyst of Postgres", True),
        ("Analyst of MySQL", True),
        ("Comparison editor", False),
    ]
    assert web(demo_plan("what is RAG?")) == [
        ("Background researcher", True),
        ("Key-facts analyst", True),
        ("Risk assessor", True),
        ("Recommendations writer", False),
    ]


def test_flaky_also_takes_the_last_research_subtasks_search_down() -> None:
    prompts = [s["system_prompt"] for s in demo_plan("what is RAG? [flaky]")["subtasks"]]
    assert ["search unavailable" in p for p in prompts] == [False, False, True, False]
    assert not any(
        "search unavailable" in s["system_prompt"] for s in demo_plan("x y z")["subtasks"]
    )


def test_placeholder_pages_say_what_they_are_and_are_unique_per_subtask() -> None:
    pages = placeholder_pages("analyst of node.js", 2)
    assert pages == [
        (
            "https://example.com/demo/analyst-of-node-js/1",
            "Placeholder source: page 1 for the analyst of node.js (demo)",
        ),
        (
            "https://example.com/demo/analyst-of-node-js/2",
            "Placeholder source: page 2 for the analyst of node.js (demo)",
        ),
    ]
    assert not set(pages) & set(placeholder_pages("analyst of sqlite", 2))


@contextlib.asynccontextmanager
async def demo_world_with(
    config: PipelineConfig,
) -> AsyncIterator[tuple[World, FakeSlack, FakeAnthropic]]:
    async with FakeSlack() as slack, FakeAnthropic() as claude:
        install_demo(claude, speed=0.01, seed=1)
        client = make_client(claude.api_key, claude.base_url, 5)
        async with running_world(slack, AnthropicLLM(client), config) as world:
            yield world, slack, claude
        await client.close()


@pytest.fixture
async def demo_world() -> AsyncIterator[tuple[World, FakeSlack, FakeAnthropic]]:
    async with demo_world_with(PipelineConfig(retry_initial_wait_s=0.01)) as world:
        yield world


async def finished_plan(slack: FakeSlack) -> str:
    """The run's plan message once its last update (after the answer's, at times) landed."""
    root = slack.channel_messages("C1")[0].ts

    def plan() -> str:
        return slack.thread("C1", root)[1].visible_text()

    await eventually(lambda: "Finished" in plan())
    return plan()


async def finished_thread(slack: FakeSlack) -> str:
    await eventually(lambda: bool(slack.channel_messages("C1")))
    root = slack.channel_messages("C1")[0].ts
    await eventually(lambda: ":stopwatch:" in thread_text(slack.thread("C1", root)))
    return thread_text(slack.thread("C1", root))


async def test_a_demo_run_is_labelled_as_placeholders(
    demo_world: tuple[World, FakeSlack, FakeAnthropic],
) -> None:
    world, slack, _ = demo_world
    await world.command("compare three databases")
    thread = await finished_thread(slack)
    assert "4/4 subtasks done" in thread
    assert PLACEHOLDER.strip("_") in thread
    assert "Demo answer" in thread


async def test_flaky_tag_shows_retries_then_finishes(
    demo_world: tuple[World, FakeSlack, FakeAnthropic],
) -> None:
    world, slack, claude = demo_world
    await world.command("compare three databases [flaky]")
    thread = await finished_thread(slack)
    assert "4/4 subtasks done" in thread
    assert sum(c.status == 429 for c in claude.calls_for("subagent")) == 4  # one per subtask
    plan = await finished_plan(slack)
    assert plan.count("search unavailable, answered from memory") == 1


async def test_broken_tag_fails_one_subtask_and_names_it(
    demo_world: tuple[World, FakeSlack, FakeAnthropic],
) -> None:
    world, slack, _ = demo_world
    await world.command("what is RAG? [broken]")
    thread = await finished_thread(slack)
    assert "3/4 subtasks done" in thread
    assert "Not included: Background researcher (failed)" in thread


@pytest.mark.slow
async def test_broken_fails_its_run_and_retry_then_succeeds(
    demo_world: tuple[World, FakeSlack, FakeAnthropic],
) -> None:
    world, slack, _ = demo_world
    await world.command("what is RAG? [broken]", user="U5")
    assert "3/4 subtasks done" in await finished_thread(slack)
    await eventually(lambda: not world.deps.runs.running)
    root = slack.channel_messages("C1")[0].ts
    plan = slack.thread("C1", root)[1]
    run_id = (await world.deps.store.recent_runs(channel="C1"))[0].run_id
    await world.click(
        f"{RETRY_ACTION}:s1", f"{run_id}:s1", message_ts=plan.ts, thread_ts=root, user="U5"
    )
    await eventually(lambda: thread_text(slack.thread("C1", root)).count(":stopwatch:") == 2)
    assert "4/4 subtasks done" in thread_text(slack.thread("C1", root))
    # Asking again plans again, and the subtask fails again.
    await world.command("what is RAG? [broken]", user="U5", channel="C2")
    await eventually(lambda: bool(slack.channel_messages("C2")))
    again = slack.channel_messages("C2")[0].ts
    await eventually(lambda: ":stopwatch:" in thread_text(slack.thread("C2", again)))
    assert "3/4 subtasks done" in thread_text(slack.thread("C2", again))


async def test_a_mention_in_a_thread_plans_with_the_thread(
    demo_world: tuple[World, FakeSlack, FakeAnthropic],
) -> None:
    world, slack, claude = demo_world
    await world.command("compare three databases")
    await finished_thread(slack)
    root = slack.channel_messages("C1")[0].ts
    await world.mention("<@UBOT> what about cost?", thread_ts=root)

    def follow_up_done() -> bool:
        return thread_text(slack.thread("C1", root)).count(":stopwatch:") == 2

    await eventually(follow_up_done)
    assert "Thread context reader" in thread_text(slack.thread("C1", root))
    follow_up = claude.calls_for("orchestrator")[-1]
    assert "<thread_context>" in str(follow_up.body["messages"])


async def test_a_demo_answer_cites_its_placeholder_sources_as_numbered(
    demo_world: tuple[World, FakeSlack, FakeAnthropic],
) -> None:
    world, slack, claude = demo_world
    await world.command("compare Postgres, MySQL and SQLite")
    thread = await finished_thread(slack)
    plan = await finished_plan(slack)
    for role in ("Postgres", "MySQL", "SQLite"):
        entry = rf"Analyst of {role}\n_done in .* · \d searche?s? · \d sources_"
        assert re.search(entry, plan), plan
    assert re.search(r"Comparison editor\n_done in [^\n]* tokens_\n", plan), plan

    # The answer cites [n] only with numbers the integrator was given, and every one of
    # them is in the Sources list, on example.com, its host visible.
    prompt = str(claude.calls_for("integrator")[0].body["messages"][0]["content"])
    given = {int(n) for n in re.findall(r"^\[(\d+)\] Placeholder source: ", prompt, re.MULTILINE)}
    answer, listed = thread.split("**Sources**\n", 1)
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    assert cited == given == set(range(1, len(given) + 1))
    entries = re.findall(
        r"^(\d+)\. .*Placeholder source: .*\(demo\).*\(example\.com\)", listed, re.M
    )
    assert [int(n) for n in entries] == sorted(given), listed
    searches = claude.total_usage().web_search_requests
    assert f"{searches} web searches" in thread
    assert 3 <= searches <= 6


async def test_with_the_web_off_the_demo_answers_without_sources() -> None:
    config = PipelineConfig(retry_initial_wait_s=0.01, web_search=False)
    async with demo_world_with(config) as (world, slack, claude):
        await world.command("compare Postgres and MySQL")
        thread = await finished_thread(slack)
        assert "Sources" not in thread
        assert not re.search(r"\d (web )?search", thread), thread
        assert not any("tools" in c.body for c in claude.calls_for("subagent"))
