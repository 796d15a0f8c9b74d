"""Fault matrix, Claude side: every role, every failure the Messages API can show, once
(recovered by a retry) and for good (the run ends visibly). Always through HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.fakes.claude import CallInfo, FakeAnthropic, Fault
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.faults.conftest import run_ended, serves_next_request

pytestmark = pytest.mark.e2e

FAULTS: dict[str, dict[str, Any]] = {
    "429 retry-after": {"status": 429, "retry_after": 0.05},
    "529 overloaded": {"status": 529, "retry_after": 0.05},
    "500": {"status": 500},
    "connection reset": {"reset": True},
    "hang past timeout": {"hang": True},
    "truncated reply": {"truncate_stream": True},
    "malformed reply": {"malformed": True},
}

# What the run's visible end says when the fault never clears.
PERSISTENT_READS = {
    "429 retry-after": "rate limiting",
    "529 overloaded": "overloaded",
    "500": "error (500)",
    "connection reset": "connection",
    "hang past timeout": "did not answer within",
    "truncated reply": "connection",
    "malformed reply": "malformed",
}


def only_subtask_2(call: CallInfo) -> bool:
    return call.role == "subagent" and "aspect 2" in call.system_text


def fault_for(role: str, name: str, times: int | None) -> Fault:
    if role == "subagent":
        return Fault(match=only_subtask_2, times=times, **FAULTS[name])
    return Fault(role=role, times=times, **FAULTS[name])


def assert_one_of_each(slack: FakeSlack, root: str) -> None:
    """No duplicate message: no message twice, one ending, one root in the channel."""
    texts = [m.visible_text() for m in slack.thread("C1", root)]
    assert len(set(texts)) == len(texts), texts
    assert sum("tokens in" in t or ":warning:" in t for t in texts[2:]) == 1, texts
    assert len(slack.channel_messages("C1")) == 1


@pytest.mark.parametrize("name", list(FAULTS))
@pytest.mark.parametrize("role", ["orchestrator", "subagent", "integrator"])
async def test_a_fault_once_is_retried_and_the_run_answers(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, role: str, name: str
) -> None:
    fault = fake_claude.inject(fault_for(role, name, times=1))
    await world.command("survive one fault")
    thread = await run_ended(world)
    assert fault.times == 0, "the fault never fired"
    assert "Integrated answer" in thread
    assert "3/3 subtasks done" in thread
    assert_one_of_each(fake_slack, fake_slack.channel_messages("C1")[0].ts)
    await serves_next_request(world)


@pytest.mark.parametrize("name", list(FAULTS))
@pytest.mark.parametrize("role", ["orchestrator", "integrator"])
async def test_planning_or_integrating_failing_for_good_ends_with_a_clear_error(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, role: str, name: str
) -> None:
    fake_claude.inject(fault_for(role, name, times=None))
    await world.command("no answer today")
    thread = await run_ended(world)
    assert ":warning:" in thread
    assert PERSISTENT_READS[name] in thread.lower()
    assert "Integrated answer" not in thread
    assert len(fake_claude.calls_for(role)) == 2  # max_attempts, then it stops
    if role == "orchestrator":
        assert fake_claude.calls_for("subagent") == []
    assert_one_of_each(fake_slack, fake_slack.channel_messages("C1")[0].ts)
    fake_claude.clear_faults()
    await serves_next_request(world)


@pytest.mark.parametrize("name", list(FAULTS))
@pytest.mark.slow
async def test_a_subagent_failing_for_good_gives_a_partial_answer_naming_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, name: str
) -> None:
    fake_claude.inject(fault_for("subagent", name, times=None))
    await world.command("partial is fine")
    thread = await run_ended(world)
    assert "Integrated answer" in thread
    assert "2/3 subtasks done" in thread
    assert "Not included: Researcher of aspect 2 (failed)" in thread
    integrator_input = fake_claude.calls_for("integrator")[0].body["messages"][0]["content"]
    assert "aspect 2" in str(integrator_input)
    assert_one_of_each(fake_slack, fake_slack.channel_messages("C1")[0].ts)
    fake_claude.clear_faults()
    await serves_next_request(world)
