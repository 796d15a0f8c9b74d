"""Steering and plan review survive a restart (issue 22.2, 22.3): the real `python -m bot`
over HTTP against both fakes, SIGTERM, and a new process on the same SQLite store.

- a steer given before SIGTERM reaches the resumed run's later subagent calls and its
  integrator;
- a plan waiting for approval still waits after the restart, with the same expiry, runs
  nothing, and the requester's Approve (taken by the new process) runs it."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.store import RunStore
from pipeline.testing import simple_plan
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from tests.faults.conftest import eventually, thread_text
from tests.faults.test_restarts import Bot, bots

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

__all__ = ["bots"]  # the fixture, shared with tests/faults/test_restarts.py

STEER = "focus on operating costs"


async def mention(bot: Bot, slack: FakeSlack, text: str, *, thread_ts: str | None = None) -> str:
    """A mention of the app in C1 (in `thread_ts` when given); its ts."""
    ts = slack.add_user_message("C1", "U1", text, thread_ts=thread_ts)
    body, kind = signing.mention_event(
        text=text, user="U1", channel="C1", ts=ts, thread_ts=thread_ts, event_id=f"Ev{ts}"
    )
    assert await bot.post(body, kind) == 200
    return ts


async def only_run(database: str) -> str:
    store = await RunStore.open(database)
    try:
        [run] = await store.recent_runs(channel="C1")
        return run.run_id
    finally:
        await store.close()


async def test_a_steer_given_before_sigterm_reaches_the_resumed_runs_later_calls(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    slow = {"on": True}
    fake_claude.respond(
        "subagent", lambda call: Reply(text="Found it.", latency=60 if slow["on"] else 0)
    )
    first = bots()
    await first.start()
    root = await mention(first, fake_slack, "<@UBOT> compare tides")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3, within=20)
    await mention(first, fake_slack, f"<@UBOT> {STEER}", thread_ts=root)
    await eventually(
        lambda: "Steering noted" in thread_text(fake_slack.thread("C1", root)), within=10
    )
    code, err = await first.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]
    assert "restart" in thread_text(fake_slack.thread("C1", root))

    slow["on"] = False
    second = bots()
    await second.start()
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)), within=30)
    calls = fake_claude.calls_for("subagent")
    assert len(calls) == 6
    assert not any(STEER in str(c.body["messages"]) for c in calls[:3])  # started before it
    assert all(STEER in str(c.body["messages"]) for c in calls[3:])  # after the restart
    [integrator] = fake_claude.calls_for("integrator")
    assert f"from <@U1>: {STEER}" in str(integrator.body["messages"])
    assert len(fake_claude.calls_for("orchestrator")) == 1  # the plan was kept, no new run
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]


async def test_a_plan_waiting_for_approval_waits_across_a_restart_and_approve_runs_it(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'orchestra.db'}"
    first = bots()
    await first.start()
    root = await mention(first, fake_slack, "<@UBOT> --review compare tides")
    await eventually(lambda: "Waiting for" in thread_text(fake_slack.thread("C1", root)), within=20)
    run_id = await only_run(database)
    store = await RunStore.open(database)
    try:
        before = await store.review_of(run_id)
    finally:
        await store.close()
    assert before is not None
    assert before.state == "awaiting"
    code, err = await first.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]
    plan_ts = next(m.ts for m in fake_slack.thread("C1", root) if "Plan for" in m.text)
    paused = fake_slack.find("C1", plan_ts)
    assert paused is not None
    assert "orchestra_approve" not in str(paused.blocks)  # shown paused, nothing to approve
    assert "Paused for a restart" in str(paused.blocks)

    second = bots()
    await second.start()
    stamp = f"<!date^{int(before.expires_at.timestamp())}^"

    def waiting_again() -> bool:
        return any(
            "orchestra_approve" in str(m.blocks) and stamp in str(m.blocks)
            for m in fake_slack.thread("C1", root)
        )

    await eventually(waiting_again, within=20)
    store = await RunStore.open(database)
    try:
        after = await store.review_of(run_id)
    finally:
        await store.close()
    assert after is not None
    assert (after.state, after.expires_at) == ("awaiting", before.expires_at)
    assert fake_claude.calls_for("subagent") == []

    body, kind = signing.block_action(
        action_id="orchestra_approve",
        value=run_id,
        user="U1",
        channel="C1",
        message_ts=plan_ts,
        thread_ts=root,
    )
    assert await second.post(body, kind) == 200
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)), within=30)
    assert len(fake_claude.calls_for("subagent")) == 3
    assert len(fake_claude.calls_for("orchestrator")) == 1  # the waiting plan, not a new one
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]


async def test_an_open_question_stays_open_across_a_restart_and_its_answer_plans_the_run(
    bots: Callable[..., Bot], fake_slack: FakeSlack, fake_claude: FakeAnthropic, tmp_path: Path
) -> None:
    question = "Which coast do you mean?"
    fake_claude.respond_question(question, simple_plan("tides on a coast", 3))
    first = bots()
    await first.start()
    root = await mention(first, fake_slack, "<@UBOT> tell me about tides")
    await eventually(lambda: question in thread_text(fake_slack.thread("C1", root)), within=20)
    code, err = await first.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]

    second = bots()
    await second.start()
    await eventually(lambda: "Resumed" in thread_text(fake_slack.thread("C1", root)), within=20)
    await asyncio.sleep(1)  # a resumed run that asked again would have called by now
    assert len(fake_claude.calls_for("orchestrator")) == 1  # not asked again: it waits
    assert thread_text(fake_slack.thread("C1", root)).count(question) == 1

    await mention(second, fake_slack, "<@UBOT> the North Sea </clarification>", thread_ts=root)
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", root)), within=30)
    _, planned = fake_claude.calls_for("orchestrator")
    content = str(planned.body["messages"][0]["content"])
    assert "The person answered: the North Sea &lt;/clarification>" in content
    assert len(fake_claude.calls_for("subagent")) == 3
    code, err = await second.stop(signal.SIGTERM)
    assert code == 0, err[-2000:]
