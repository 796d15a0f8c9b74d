"""Rendering a run's view as Block Kit, within Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace

from bot import blocks
from bot.slack_text import MESSAGE_TEXT_LIMIT
from pipeline import (
    CallRetrying,
    Plan,
    PlanReady,
    RunFinished,
    RunResult,
    SubtaskFailed,
    SubtaskFinished,
    SubtaskOutcome,
    SubtaskStarted,
    Usage,
)
from pipeline.testing import simple_plan
from pipeline.view import RunView

PLAN = Plan.model_validate(simple_plan("compare <!channel> databases", 3))


def view_with_plan() -> RunView:
    view = RunView("run1", goal="compare <!channel> databases")
    view.apply(PlanReady(run_id="run1", at=0.5, plan=PLAN))
    return view


def texts(message: blocks.SlackMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def result(answer: str, outcomes: dict[str, SubtaskOutcome] | None = None) -> RunResult:
    outcomes = outcomes or {t.id: SubtaskOutcome(t.id, "done", "out") for t in PLAN.subtasks}
    return RunResult(
        run_id="run1",
        goal="g",
        status="succeeded",
        plan=PLAN,
        outcomes=outcomes,
        answer=answer,
        usage_by_role={},
        usage=Usage(1000, 200, 0, 0),
        cost_usd=0.0123,
        elapsed_s=12.34,
    )


def block_types(message: blocks.SlackMessage) -> list[str]:
    return [b["type"] for b in message.blocks]


def test_planning_message_has_cancel_and_escapes_the_goal() -> None:
    message = blocks.plan_message(RunView("run1", goal="see <!channel>"))
    rendered = texts(message)
    assert "Planning" in rendered
    assert "&lt;!channel&gt;" in rendered
    assert "<!channel>" not in rendered
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert actions[0]["elements"][0]["action_id"] == blocks.CANCEL_ACTION
    assert actions[0]["elements"][0]["value"] == "run1"


def test_each_subtask_has_a_live_entry() -> None:
    view = view_with_plan()
    view.apply(SubtaskStarted(run_id="run1", at=1, subtask_id="s1"))
    view.apply(
        CallRetrying(
            run_id="run1",
            at=2,
            role="subagent",
            subtask_id="s2",
            attempt=1,
            reason="Claude is overloaded (529).",
            wait_s=4,
        )
    )
    view.apply(
        SubtaskFinished(
            run_id="run1",
            at=3,
            subtask_id="s3",
            output="Found: X",
            elapsed_s=2.5,
            usage=Usage(10, 5),
        )
    )
    rendered = texts(blocks.plan_message(view))
    assert "running" in rendered
    assert "retrying in 4s (attempt 1 failed: Claude is overloaded (529).)" in rendered
    assert "done in 2.5s · 15 tokens" in rendered
    assert "> Found: X" in rendered
    assert f"{blocks.OUTPUT_ACTION}:s3" in rendered


def test_failed_entry_shows_a_short_reason() -> None:
    view = view_with_plan()
    view.apply(SubtaskFailed(run_id="run1", at=3, subtask_id="s1", reason="x" * 5000, elapsed_s=1))
    message = blocks.plan_message(view)
    section = message.blocks[1]["text"]["text"]
    assert "failed:" in section
    assert len(section) < 400


def test_finished_plan_has_no_cancel_button() -> None:
    view = view_with_plan()
    view.apply(RunFinished(run_id="run1", at=9, result=result("answer")))
    rendered = texts(blocks.plan_message(view))
    assert blocks.CANCEL_ACTION not in rendered
    assert "Finished." in rendered


def test_long_answer_is_split_with_footer_on_the_last_message() -> None:
    answer = "\n\n".join(f"Section {i}. " + "lorem ipsum " * 200 for i in range(10))
    assert len(answer) > 20_000
    messages = blocks.answer_messages(result(answer))
    assert len(messages) >= 2
    for message in messages:
        assert len(message.text) < MESSAGE_TEXT_LIMIT
        markdown = sum(len(b["text"]) for b in message.blocks if b["type"] == "markdown")
        assert markdown <= 12_000
        assert len(message.blocks) <= 50
    assert "12.3s" in texts(messages[-1])
    assert "3/3 subtasks done" in texts(messages[-1])
    assert "≈ $0.0123" in texts(messages[-1])
    assert "1,000 tokens in / 200 out" in texts(messages[-1])
    assert "12.3s" not in texts(messages[0])


def test_answer_footer_names_failed_subtasks() -> None:
    outcomes = {
        "s1": SubtaskOutcome("s1", "done", "x"),
        "s2": SubtaskOutcome("s2", "failed", error="boom"),
        "s3": SubtaskOutcome("s3", "skipped"),
    }
    rendered = texts(blocks.answer_messages(result("answer", outcomes))[-1])
    assert (
        "Not included: Researcher for aspect 2 (failed); Researcher for aspect 3 (skipped)"
        in rendered
    )
    assert "1/3 subtasks done" in rendered


def test_answer_mentions_are_defused() -> None:
    rendered = texts(blocks.answer_messages(result("Hey <!here>, read this"))[0])
    assert "<!here>" not in rendered


def test_unknown_cost_reads_unknown() -> None:
    assert "cost unknown" in blocks.footer(replace(result("a"), cost_usd=None))


def test_error_message_carries_the_run_id() -> None:
    failed = replace(result(""), status="failed", error="Claude rejected the API key (401).")
    rendered = texts(blocks.error_message(failed))
    assert "Claude rejected the API key (401)." in rendered
    assert "`run1`" in rendered
