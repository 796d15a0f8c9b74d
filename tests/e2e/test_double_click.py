"""End to end: a button that starts work acts once per message, however often it is pressed.

A real double-click is two interaction payloads with different trigger ids, tens of
milliseconds apart: deduping deliveries cannot stop the second one."""

from __future__ import annotations

import asyncio

import pytest

from bot.render import notes
from bot.render.messages import RERUN_ACTION, RETRY_ACTION
from bot.runs import resume
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


async def _finished_run(world: World, slack: FakeSlack, claude: FakeAnthropic) -> tuple[str, str]:
    """A run whose subtask s2 failed, finished: (its run id, its thread)."""
    claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500))
    await world.command("partly broken", user="U5")
    await eventually(lambda: bool(slack.channel_messages("C1")))
    root = slack.channel_messages("C1")[0].ts
    await eventually(lambda: "tokens in" in thread_text(slack.thread("C1", root)))
    await eventually(lambda: not world.deps.runs.running)
    claude.clear_faults()
    [stored] = await world.deps.store.recent_runs(channel="C1")
    return stored.run_id, root


@pytest.mark.parametrize("button", [RERUN_ACTION, RETRY_ACTION])
@pytest.mark.slow
async def test_a_double_click_on_retry_or_rerun_starts_one_run(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, button: str
) -> None:
    run_id, root = await _finished_run(world, fake_slack, fake_claude)
    plan = fake_slack.thread("C1", root)[1]
    action, value = (
        (RERUN_ACTION, run_id) if button == RERUN_ACTION else (f"{RETRY_ACTION}:s2", f"{run_id}:s2")
    )

    async def press() -> None:
        response = await world.click(action, value, message_ts=plan.ts, thread_ts=root, user="U5")
        assert response.status == 200

    first = asyncio.create_task(press())
    await asyncio.sleep(0.05)  # the double-click's second click, 50 ms later
    await asyncio.gather(first, press())

    await eventually(lambda: thread_text(fake_slack.thread("C1", root)).count("tokens in") == 2)
    await eventually(lambda: not world.deps.runs.running)
    children = [r for r in await world.deps.store.recent_runs(channel="C1") if r.parent_run_id]
    assert len(children) == 1
    assert [e.text for e in fake_slack.ephemerals if e.user == "U5"] == [notes.PRESSED_ALREADY]
    assert thread_text(fake_slack.thread("C1", root)).count("tokens in") == 2


@pytest.mark.slow
async def test_a_rerun_while_the_one_it_started_is_going_says_so_and_starts_nothing(
    world: World,
    fake_slack: FakeSlack,
    fake_claude: FakeAnthropic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resume, "PRESS_HOLD_S", 0.2)  # the press's hold ends early
    run_id, root = await _finished_run(world, fake_slack, fake_claude)
    plan = fake_slack.thread("C1", root)[1]
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=30))
    await world.click(RERUN_ACTION, run_id, message_ts=plan.ts, thread_ts=root, user="U5")
    await eventually(lambda: len(fake_claude.calls_for("orchestrator")) == 2)
    await asyncio.sleep(0.3)  # past the press's hold: the store decides now
    await world.click(RERUN_ACTION, run_id, message_ts=plan.ts, thread_ts=root, user="U5")
    await eventually(lambda: any(e.user == "U5" for e in fake_slack.ephemerals))
    [told] = [e.text for e in fake_slack.ephemerals if e.user == "U5"]
    assert told.startswith("A run started from this one is still going")
    assert len(fake_claude.calls_for("orchestrator")) == 2
    assert len([r for r in await world.deps.store.recent_runs(channel="C1")]) == 2
