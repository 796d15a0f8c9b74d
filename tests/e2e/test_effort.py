"""Effort you choose, with its price before you pay (issue 22.4), through the real app over
HTTP against both fakes: --quick and --deep change the plan's size (what the orchestrator is
asked for) and the caps of every request; every plan shows an estimate before its subagents
start; a switch it cannot follow is said privately to the sender and starts nothing; the
effort is stored with the run."""

from __future__ import annotations

import re

import pytest

from pipeline.effort import QUICK_INTEGRATOR_TOKENS, QUICK_SUBAGENT_TOKENS
from pipeline.testing import simple_plan
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

DEFAULT_SUBAGENT, DEFAULT_INTEGRATOR = 2048, 4096  # PipelineConfig's defaults


def plans_as_big_as_allowed(claude: FakeAnthropic) -> None:
    """The orchestrator plans as many subtasks as it is asked for at most, all on the web."""

    def plan(call: CallInfo) -> Reply:
        found = re.search(r"plan of (\d+) to (\d+)", call.system_text)
        assert found is not None, call.system_text
        high = int(found.group(2))
        ids = [f"s{i}" for i in range(1, high + 1)]
        return Reply(json=simple_plan("compare queues", high, needs_web=ids))

    claude.respond("orchestrator", plan)


def tools_of(call_body: dict[str, object]) -> list[str]:
    tools = call_body.get("tools") or []
    assert isinstance(tools, list)
    return [str(t.get("name")) for t in tools if isinstance(t, dict)]


async def answered(world: World, slack: FakeSlack, claude: FakeAnthropic, root: str) -> str:
    await eventually(lambda: "Integrated answer" in thread_text(slack.thread("C1", root)), 20)
    await eventually(lambda: not world.deps.runs.running)
    return thread_text(slack.thread("C1", root))


async def test_quick_plans_two_subtasks_with_small_caps_and_no_fetch(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    plans_as_big_as_allowed(fake_claude)
    _, root = await world.mention("<@UBOT> --quick compare message queues")
    text = await answered(world, fake_slack, fake_claude, root)
    assert "Estimate:" in text
    [orchestrator] = fake_claude.calls_for("orchestrator")
    assert "plan of 2 to 2" in str(orchestrator.body["system"])
    assert "--quick" not in str(orchestrator.body["messages"])  # the switch is not the goal
    subagents = fake_claude.calls_for("subagent")
    assert len(subagents) == 2
    assert {c.body["max_tokens"] for c in subagents} == {QUICK_SUBAGENT_TOKENS}
    assert all("web_fetch" not in tools_of(c.body) for c in subagents)
    assert all("web_search" in tools_of(c.body) for c in subagents)
    [integrator] = fake_claude.calls_for("integrator")
    assert integrator.body["max_tokens"] == QUICK_INTEGRATOR_TOKENS
    [run] = await world.deps.store.recent_runs(channel="C1")
    stored = await world.deps.store.get_run(run.run_id)
    assert stored is not None
    assert stored.effort == "quick"
    assert stored.estimate_s is not None
    assert stored.basis_s is not None


async def test_deep_plans_more_subtasks_with_twice_the_caps(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    plans_as_big_as_allowed(fake_claude)
    # --deep asks for plan review too; --no-review runs at once.
    await world.command("--deep --no-review compare message queues")
    await eventually(lambda: bool(fake_claude.calls_for("integrator")), 20)
    await eventually(lambda: not world.deps.runs.running)
    [orchestrator] = fake_claude.calls_for("orchestrator")
    assert "plan of 3 to 5" in str(orchestrator.body["system"])
    subagents = fake_claude.calls_for("subagent")
    assert len(subagents) == 5
    assert {c.body["max_tokens"] for c in subagents} == {2 * DEFAULT_SUBAGENT}
    assert all("web_fetch" in tools_of(c.body) for c in subagents)
    assert fake_claude.calls_for("integrator")[0].body["max_tokens"] == 2 * DEFAULT_INTEGRATOR
    [run] = await world.deps.store.recent_runs(channel="C1")
    assert run.thread_ts is not None
    assert "Estimate:" in thread_text(fake_slack.thread("C1", run.thread_ts))
    assert run.estimate_usd is not None


async def test_the_default_effort_plans_within_the_configured_bounds(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    plans_as_big_as_allowed(fake_claude)
    _, ts = await world.dm("compare message queues")
    await eventually(lambda: bool(fake_claude.calls_for("integrator")), 20)
    await eventually(lambda: not world.deps.runs.running)
    assert "plan of 2 to 5" in str(fake_claude.calls_for("orchestrator")[0].body["system"])
    subagents = fake_claude.calls_for("subagent")
    assert {c.body["max_tokens"] for c in subagents} == {DEFAULT_SUBAGENT}
    [stream] = fake_slack.streams_in("D1", ts)
    titles = [str(c.get("title")) for c in stream.chunks if c.get("type") == "plan_update"]
    assert any("Estimate:" in title for title in titles)  # before subagents, in a DM too


async def test_an_unknown_switch_is_told_privately_and_starts_nothing(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    ack = await world.command_ack("--qiuck compare message queues")
    assert "--qiuck" in ack
    await world.mention("<@UBOT> --quick --deep compare message queues", user="U2")
    await eventually(lambda: bool(fake_slack.calls_to("chat.postEphemeral")))
    told = fake_slack.calls_to("chat.postEphemeral")[-1].args
    assert told.get("user") == "U2"
    assert "--quick" in str(told.get("text"))
    assert "--deep" in str(told.get("text"))
    await world.dm("--deeep compare message queues", user="U3")
    await eventually(lambda: len(fake_slack.calls_to("chat.postEphemeral")) >= 2)
    assert "--deeep" in str(fake_slack.calls_to("chat.postEphemeral")[-1].args.get("text"))
    assert fake_claude.calls == []
    assert await world.deps.store.recent_runs() == []


async def test_history_and_home_set_the_estimate_beside_the_actual(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.add_user("U1", "Ann")  # a member (history shows a guest less)
    plans_as_big_as_allowed(fake_claude)
    _, root = await world.mention("<@UBOT> --quick compare message queues")
    await answered(world, fake_slack, fake_claude, root)
    [run] = await world.deps.store.recent_runs(channel="C1")
    assert run.estimate_s is not None
    assert run.work_s > 0
    await world.command("history", reply_to="hist")
    await eventually(lambda: bool(fake_slack.responses_to.get("hist")))
    reply = str(fake_slack.responses_to["hist"][0])
    assert "estimated $" in reply
    assert "; took $" in reply
    await world.open_home()
    await eventually(lambda: "U1" in fake_slack.home_views)
    home = str(fake_slack.home_views["U1"]["blocks"])
    assert "estimated $" in home
    assert "; took $" in home
