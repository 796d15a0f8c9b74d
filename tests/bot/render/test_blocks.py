"""Rendering a run's view as Block Kit, within Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.render import messages as blocks
from bot.render import plan as plan_blocks
from bot.render.text import MESSAGE_BLOCKS_BUDGET, MESSAGE_TEXT_LIMIT
from pipeline import (
    CallRetrying,
    Plan,
    PlanReady,
    RunFinished,
    RunResult,
    SubtaskFailed,
    SubtaskFinished,
    SubtaskOutcome,
    SubtaskSkipped,
    SubtaskStarted,
    Usage,
)
from pipeline.testing import simple_plan
from pipeline.view import RunView
from sandbox.fakes.slack_limits import block_errors

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
    for sub in ("s1", "s2", "s3"):
        view.apply(
            SubtaskFinished(
                run_id="run1", at=3, subtask_id=sub, output="x", elapsed_s=1, usage=Usage(1, 1)
            )
        )
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
        "Not included: Researcher of aspect 2 (failed); Researcher of aspect 3 (skipped)"
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


def big_view(count: int = 20) -> RunView:
    """A plan at ORCHESTRA_MAX_SUBTASKS 20 with the longest roles, reasons and outputs."""
    role = "Research & compare <vendors> for the " + "very " * 40 + "long aspect"
    plan = Plan.model_validate(
        {
            "goal": "&" * 500,
            "subtasks": [
                {
                    "id": f"subtask-num{i:03d}",
                    "role": role[:200],
                    "system_prompt": "You research one aspect.",
                    "input": "the input",
                }
                for i in range(count)
            ],
        },
        context={"min": 2, "max": count},
    )
    view = RunView("run1", goal="&" * 4000)
    view.apply(PlanReady(run_id="run1", at=0.5, plan=plan))
    for i, sub in enumerate(plan.subtasks):
        if i % 10 == 9:
            view.apply(
                SubtaskFailed(
                    run_id="run1", at=2, subtask_id=sub.id, reason="<&>" * 900, elapsed_s=1
                )
            )
        else:
            view.apply(
                SubtaskFinished(
                    run_id="run1",
                    at=2,
                    subtask_id=sub.id,
                    output="Findings & <notes> " * 500,
                    elapsed_s=1,
                    usage=Usage(10, 5),
                )
            )
    return view


def test_a_twenty_subtask_plan_is_compacted_to_fit_one_message() -> None:
    view = big_view()
    full = plan_blocks.plan_at_density(view, plan_blocks.DENSITIES[0])
    assert blocks.block_text_chars(full.blocks) > MESSAGE_BLOCKS_BUDGET  # too long in full
    message = blocks.plan_message(view)
    assert blocks.block_text_chars(message.blocks) <= MESSAGE_BLOCKS_BUDGET
    assert len(message.blocks) <= 50
    assert block_errors(message.blocks) == []
    rendered = texts(message)
    for i in range(20):
        assert f"subtask-num{i:03d}" in rendered
    assert "&amp;" in rendered
    assert "&<" not in rendered  # escaped first, then cut: no entity cut in half
    assert blocks.CANCEL_ACTION in rendered


def test_a_small_plan_keeps_its_previews() -> None:
    message = blocks.plan_message(big_view(3))
    assert "> Findings &amp; &lt;notes&gt;" in texts(message)


def test_compact_plan_is_one_line_per_subtask_without_previews() -> None:
    view = big_view()
    compact = blocks.plan_message(view, compact=True)
    assert "Findings" not in texts(compact)
    assert len(compact.blocks) < 10
    assert blocks.block_text_chars(compact.blocks) < blocks.block_text_chars(
        blocks.plan_message(view).blocks
    )


def test_a_plan_too_long_for_any_density_names_how_many_it_left_out() -> None:
    view = big_view(300)
    message = blocks.plan_message(view)
    assert blocks.block_text_chars(message.blocks) <= MESSAGE_BLOCKS_BUDGET
    assert block_errors(message.blocks) == []
    assert "more subtasks" in texts(message)


def test_finished_partial_run_says_what_finished() -> None:
    view = view_with_plan()
    view.apply(
        SubtaskFinished(
            run_id="run1", at=2, subtask_id="s1", output="x", elapsed_s=1, usage=Usage()
        )
    )
    view.apply(SubtaskFailed(run_id="run1", at=3, subtask_id="s2", reason="boom", elapsed_s=1))
    view.apply(SubtaskSkipped(run_id="run1", at=3, subtask_id="s3", failed_dependencies=("s2",)))
    outcomes = {
        "s1": SubtaskOutcome("s1", "done", "x"),
        "s2": SubtaskOutcome("s2", "failed", error="boom"),
        "s3": SubtaskOutcome("s3", "skipped"),
    }
    view.apply(RunFinished(run_id="run1", at=9, result=result("answer", outcomes)))
    assert "Finished: 1 done, 1 failed, 1 skipped." in texts(blocks.plan_message(view))


def test_each_answer_message_stays_within_the_block_budget() -> None:
    answer = "\n\n".join(f"Section {i}. " + "lorem ipsum " * 300 for i in range(20))
    plan = big_view().plan
    assert plan is not None
    outcomes = {t.id: SubtaskOutcome(t.id, "failed", error="x") for t in plan.subtasks}
    failing = replace(result(answer, outcomes), plan=plan)
    messages = blocks.answer_messages(failing)
    assert len(messages) >= 3
    for message in messages:
        assert blocks.block_text_chars(message.blocks) <= MESSAGE_BLOCKS_BUDGET
        assert block_errors(message.blocks) == []
    assert "Not included" in texts(messages[-1])


def test_full_output_stays_within_the_block_budget() -> None:
    messages = blocks.output_messages("s1", "x" * 200, "word " * 10_000)
    assert len(messages) >= 5
    for message in messages:
        assert blocks.block_text_chars(message.blocks) <= MESSAGE_BLOCKS_BUDGET


def test_disguised_links_show_their_host_in_blocks_and_text() -> None:
    answer = (
        "[Open the report](https://evil.example/x) or "
        "<https://evil.example/login|re-authenticate with Slack SSO> <!group>"
    )
    message = blocks.answer_messages(result(answer))[0]
    markdown = message.blocks[0]["text"]
    assert "[Open the report (evil.example)](https://evil.example/x)" in markdown
    assert "[re-authenticate with Slack SSO (evil.example)](https://evil.example/login)" in markdown
    assert "<!group>" not in markdown
    assert "<https://evil.example/x|Open the report (evil.example)>" in message.text
    assert "<!group>" not in message.text
    plain = blocks.plain_messages(message)
    assert "<https://evil.example/login|re-authenticate with Slack SSO (evil.example)>" in (
        plain[0].text
    )


def test_roles_goals_and_previews_show_link_hosts() -> None:
    view = RunView("run1", goal="see [the doc](https://evil.example/d)")
    view.apply(PlanReady(run_id="run1", at=0.5, plan=PLAN))
    view.apply(
        SubtaskFinished(
            run_id="run1",
            at=2,
            subtask_id="s1",
            output="Read [this](https://evil.example/p) first",
            elapsed_s=1,
            usage=Usage(),
        )
    )
    message = blocks.plan_message(view)
    assert "<https://evil.example/d|the doc (evil.example)>" in message.text
    assert "> Read this (evil.example) first" in texts(message)


def test_plain_fallback_leaves_buttons_out() -> None:
    plain = blocks.plain_messages(blocks.plan_message(view_with_plan()))
    assert "Cancel" not in plain[0].text
    assert "plain_text" not in plain[0].text


def test_a_half_written_part_and_a_plan_carry_ids_a_resumed_run_finds_and_slack_accepts() -> None:
    part = blocks.answer_part_message("Answer so far", writing=True)
    assert [b["block_id"] for b in part.blocks if "block_id" in b] == [blocks.WRITING_BLOCK_ID]
    assert block_errors(part.blocks) == []
    plan = blocks.plan_message(RunView("run1", goal="tides"))
    assert [b["block_id"] for b in plan.blocks if "block_id" in b] == ["run:run1"]
    assert block_errors(plan.blocks) == []
    # The fake refuses what Slack refuses: a block id twice in one message.
    assert block_errors(part.blocks * 2) != []
