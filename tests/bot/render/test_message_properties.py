"""Property-based tests: every message we build from untrusted text is one Slack accepts.

Within limits means: `text` under 4,000 characters, at most 50 blocks, each block within its
own limit (the fake Slack's checks), and all block text within `MESSAGE_BLOCKS_BUDGET`; and
nothing of the model's or the user's text survives as a live Slack control sequence."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import messages as blocks
from bot.render.text import (
    MESSAGE_BLOCKS_BUDGET,
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    safe_mrkdwn,
)
from pipeline import Plan, RunResult, SubtaskOutcome, Usage
from pipeline.view import RunView, SubtaskState, SubtaskView
from sandbox.fakes.slack_limits import block_errors
from tests.bot.render.test_text_properties import UNTRUSTED

FAST = settings(
    deadline=timedelta(seconds=3),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SHORT = st.text(min_size=3, max_size=200).filter(lambda t: len(t.strip()) >= 3)
_LIVE = re.compile(r"<(?:!|@|#)|<(?![^<>|\s]+(?:\|[^<>]*)?>)")


def assert_acceptable(message: blocks.SlackMessage) -> None:
    """Slack takes this message as it is, and nothing in it pings or hides a link."""
    assert len(message.text) < MESSAGE_TEXT_LIMIT
    assert block_errors(message.blocks) == []
    assert blocks.block_text_chars(message.blocks) <= MESSAGE_BLOCKS_BUDGET
    rendered = json.loads(json.dumps(message.blocks))
    for block in rendered:
        if block["type"] != "markdown":
            for text in _mrkdwn_texts(block):
                assert _LIVE.search(text) is None, text
    assert _LIVE.search(message.text) is None


def _mrkdwn_texts(block: dict[str, object]) -> list[str]:
    text = block.get("text")
    objects = [text] if isinstance(text, dict) else []
    elements = block.get("elements")
    if block.get("type") == "context" and isinstance(elements, list):
        objects = elements
    return [str(o["text"]) for o in objects if isinstance(o, dict) and o.get("type") == "mrkdwn"]


def a_plan(roles: list[str], goal: str) -> Plan:
    return Plan.model_validate(
        {
            "goal": goal,
            "subtasks": [
                {
                    "id": f"s{i}",
                    "role": role,
                    "system_prompt": "You research one aspect.",
                    "input": "the input",
                }
                for i, role in enumerate(roles)
            ],
        },
        context={"min": 1, "max": len(roles)},
    )


def a_result(answer: str, plan: Plan, failed: int = 0) -> RunResult:
    outcomes = {
        t.id: SubtaskOutcome(t.id, "failed" if i < failed else "done", error="x")
        for i, t in enumerate(plan.subtasks)
    }
    return RunResult(
        run_id="run1",
        goal=plan.goal,
        status="partial" if failed else "succeeded",
        plan=plan,
        outcomes=outcomes,
        answer=answer,
        usage_by_role={},
        usage=Usage(10**9, 10**9),
        cost_usd=12345.678,
        elapsed_s=10**6,
    )


@FAST
@given(UNTRUSTED, st.lists(SHORT, min_size=1, max_size=20), st.integers(0, 20))
def test_answer_messages_are_always_acceptable(answer: str, roles: list[str], failed: int) -> None:
    messages = blocks.answer_messages(a_result(answer, a_plan(roles, "the goal"), failed))
    assert messages
    for message in messages:
        assert_acceptable(message)
    assert "tokens in" in json.dumps(messages[-1].blocks)


@FAST
@given(UNTRUSTED, SHORT)
def test_output_messages_are_always_acceptable(output: str, role: str) -> None:
    for message in blocks.output_messages("s1", role, output):
        assert_acceptable(message)


@FAST
@given(UNTRUSTED, st.sampled_from(["markdown", "section", "context"]))
def test_plain_fallback_is_always_acceptable(text: str, kind: str) -> None:
    block: dict[str, object] = {"type": "markdown", "text": text}
    if kind != "markdown":
        mrkdwn = {"type": "mrkdwn", "text": safe_mrkdwn(text)}
        block = {"type": kind, "text": mrkdwn}
        if kind == "context":
            block = {"type": kind, "elements": [mrkdwn]}
    for message in blocks.plain_messages(blocks.SlackMessage("fallback", [block])):
        assert not message.blocks
        assert 0 < len(message.text) <= SECTION_TEXT_LIMIT
        assert _LIVE.search(message.text) is None


STATES: tuple[SubtaskState, ...] = get_args(SubtaskState)


@FAST
@given(
    st.lists(st.tuples(SHORT, st.sampled_from(STATES), UNTRUSTED), min_size=1, max_size=60),
    UNTRUSTED,
    st.booleans(),
    st.booleans(),
)
def test_plan_message_always_fits_one_message(
    entries: list[tuple[str, SubtaskState, str]], goal: str, finished: bool, compact: bool
) -> None:
    plan = a_plan([role for role, _, _ in entries], "x" * 500)
    view = RunView("run1", goal=goal, plan=plan, phase="finished" if finished else "running")
    view.notice = goal
    view.subtasks = {}
    for index, (role, state, text) in enumerate(entries):
        sub = SubtaskView(f"s{index}", role, state=state, detail=text, output=text)
        view.subtasks[sub.id] = sub
    message = blocks.plan_message(view, compact=compact)
    assert_acceptable(message)
    actions = [
        element["action_id"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert (blocks.CANCEL_ACTION in actions) is not finished
