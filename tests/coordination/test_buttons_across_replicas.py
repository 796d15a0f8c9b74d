"""Buttons work on whichever replica receives the click: the store is the truth (two
replicas in this process on one PostgreSQL and one real Redis)."""

from __future__ import annotations

import pytest

from bot.render.messages import OUTPUT_ACTION, RERUN_ACTION, RETRY_ACTION
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.coordination.test_replicas import fake_claude, fake_slack, pair
from tests.e2e.conftest import eventually, thread_text

__all__ = ["fake_claude", "fake_slack", "pair"]  # fixtures, used by name


async def _finished_run_on_a(
    a: World, slack: FakeSlack, claude: FakeAnthropic
) -> tuple[str, str, str]:
    await a.command("partly broken", user="U5")
    await eventually(lambda: bool(slack.channel_messages("C1")))
    root = slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(slack.thread("C1", root)))
    await eventually(lambda: not a.deps.runs.running)
    [stored] = await a.deps.store.recent_runs(channel="C1")
    plan = slack.thread("C1", root)[1]
    return stored.run_id, root, plan.ts


@pytest.mark.slow
async def test_retry_and_full_output_clicked_on_the_other_replica(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b = pair
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500))
    run_id, root, plan_ts = await _finished_run_on_a(a, fake_slack, fake_claude)
    fake_claude.clear_faults()
    await b.click(f"{OUTPUT_ACTION}:s1", f"{run_id}:s1", message_ts=plan_ts, thread_ts=root)
    await eventually(lambda: "Full output of s1" in thread_text(fake_slack.thread("C1", root)))
    await b.click(
        f"{RETRY_ACTION}:s2", f"{run_id}:s2", message_ts=plan_ts, thread_ts=root, user="U5"
    )
    await eventually(lambda: thread_text(fake_slack.thread("C1", root)).count("tokens in") == 2)
    assert "3/3 subtasks done" in thread_text(fake_slack.thread("C1", root))


@pytest.mark.slow
async def test_rerun_clicked_on_the_other_replica(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b = pair
    fake_claude.respond("subagent", lambda call: Reply(text="Findings."))
    run_id, root, plan_ts = await _finished_run_on_a(a, fake_slack, fake_claude)
    await b.click(RERUN_ACTION, run_id, message_ts=plan_ts, thread_ts=root, user="U5")
    await eventually(lambda: thread_text(fake_slack.thread("C1", root)).count("tokens in") == 2)
    assert len(fake_claude.calls_for("orchestrator")) == 2


async def test_slacks_stop_button_reaching_the_other_replica_stops_a_dm_run(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    a, b = pair
    fake_claude.respond("subagent", lambda call: Reply(text="slow", latency=30))
    _, ts = await a.dm("a slow one", user="U5")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    await eventually(lambda: bool(fake_slack.streams_in("D1", ts)))
    assert (await b.stop_button(thread_ts=ts, user="U5")).status == 200
    await eventually(lambda: not a.deps.runs.running, within=3)
    [stream] = fake_slack.streams_in("D1", ts)
    assert "Cancelled by <@U5>" in stream.text
    assert fake_claude.calls_for("integrator") == []


async def test_slacks_stop_button_stops_the_threads_run_from_the_replica_that_does_not_own_it(
    pair: tuple[World, World], fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # A message in a live run's DM thread steers it (issue 22.2) rather than starting a second
    # run, so the thread has one live run, on a; the steer and the stop both arrive at b.
    a, b = pair
    fake_claude.respond("subagent", lambda call: Reply(text="slow", latency=30))
    _, ts = await a.dm("a slow one", user="U5")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    await b.dm("and look at prices too", user="U5", thread_ts=ts)
    await eventually(
        lambda: any("Steering noted" in m.visible_text() for m in fake_slack.thread("D1", ts))
    )
    assert (len(a.deps.runs.running), len(b.deps.runs.running)) == (1, 0)
    assert (await b.stop_button(thread_ts=ts, user="U5")).status == 200
    await eventually(lambda: not a.deps.runs.running)
    streams = fake_slack.streams_in("D1", ts)
    assert len(streams) == 1
    assert "Cancelled by <@U5>" in streams[0].text
    assert len(fake_claude.calls_for("subagent")) == 3
    assert fake_claude.calls_for("integrator") == []
