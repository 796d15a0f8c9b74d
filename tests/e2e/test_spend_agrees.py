"""One ledger for spend (issue 20.2.5): each answer's footer, its history line and the Home
tab's total show what the spend ledger charged, through the real app. A call cut off before
Claude reported its usage counts at its worst case everywhere; a Retry is not charged for
the subtasks it reused (its footer counted their web searches)."""

from __future__ import annotations

import re

import pytest

from bot.render.messages import CANCEL_ACTION, RETRY_ACTION
from pipeline import PipelineConfig
from pipeline.testing import simple_plan
from sandbox.fakes import signing
from sandbox.fakes.claude import CallInfo, FakeAnthropic, Fault, Reply, Search
from sandbox.fakes.slack import FakeSlack, Message
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

FOOTER_COST = re.compile(r"≈ \$(\d+\.\d{4})")
LINE_COST = re.compile(r" · \$(\d+\.\d{4}) · ")
HOME_TODAY = re.compile(r"Team spend: \*\$([\d.,]+)\* today")


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig(
        retry_initial_wait_s=0.01, retry_max_wait_s=1, call_timeout_s=60, max_attempts=2
    )


def footers(messages: list[Message]) -> list[float]:
    return [float(m) for m in FOOTER_COST.findall(thread_text(messages))]


async def history_costs(world: World, fake_slack: FakeSlack, channel: str) -> list[float]:
    await world.command("history", user="U5", channel=channel, reply_to=f"h{channel}")
    await eventually(lambda: bool(fake_slack.responses_to.get(f"h{channel}")))
    return [float(c) for c in LINE_COST.findall(str(fake_slack.responses_to[f"h{channel}"][0]))]


@pytest.mark.slow
async def test_footers_history_and_home_show_what_the_ledger_charged(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(simple_plan("goal", 3, needs_web={"s1", "s2", "s3"}))
    searching = [True]

    def subagent(call: CallInfo) -> Reply:
        return Reply(text="Found.", searches=[Search()] if searching[0] else [])

    def integrator(call: CallInfo) -> Reply:
        # "slow": written for long enough to be cancelled while it writes.
        slow = "slow" in call.user_text
        return Reply(text="The answer, point by point. " * 40, latency=20 if slow else 0)

    fake_claude.respond("subagent", subagent)
    fake_claude.respond("integrator", integrator)
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500))

    # 1. Partly answered (s2 failed), then s2 retried: the reused s1 and s3 searched, s2 not.
    await world.command("tides", user="U5")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0].ts
    await eventually(lambda: len(footers(fake_slack.thread("C1", root))) == 1)
    await eventually(lambda: not world.deps.runs.running)
    fake_claude.clear_faults()
    searching[0] = False
    plan = fake_slack.thread("C1", root)[1]
    first = (await world.deps.store.recent_runs(channel="C1"))[0].run_id
    await world.click(
        f"{RETRY_ACTION}:s2", f"{first}:s2", message_ts=plan.ts, thread_ts=root, user="U5"
    )
    await eventually(lambda: len(footers(fake_slack.thread("C1", root))) == 2)
    retry_answer = [m for m in fake_slack.thread("C1", root) if "≈ $" in m.visible_text()][-1]
    assert "web search" not in retry_answer.visible_text()  # it searched nothing

    # 2. Cancelled while the answer is written: the integrator's call is cut off.
    await world.command("slow tides", user="U5", channel="C2")
    await eventually(lambda: bool(fake_slack.channel_messages("C2")))
    slow = fake_slack.channel_messages("C2")[0].ts
    await eventually(lambda: len(fake_slack.thread("C2", slow)) == 3)  # the answer grows
    live = world.deps.runs.running[0]
    plan_ts = fake_slack.thread("C2", slow)[1].ts
    await world.click(
        CANCEL_ACTION, live.run_id, message_ts=plan_ts, thread_ts=slow, user="U5", channel="C2"
    )
    await eventually(lambda: len(footers(fake_slack.thread("C2", slow))) == 1)
    await eventually(lambda: not world.deps.runs.running)

    shown = sorted(footers(fake_slack.thread("C1", root)) + footers(fake_slack.thread("C2", slow)))
    listed = sorted(
        await history_costs(world, fake_slack, "C1") + await history_costs(world, fake_slack, "C2")
    )
    store = world.deps.store
    ledger = sorted([await store.run_cost(r.run_id) or 0.0 for r in await store.recent_runs()])
    assert shown == listed == [round(usd, 4) for usd in ledger]
    await world.post_signed(*signing.home_opened(user="U5"))
    await eventually(lambda: "U5" in fake_slack.home_views)
    home = HOME_TODAY.search(str(fake_slack.home_views["U5"]["blocks"]))
    assert home is not None
    assert float(home.group(1)) == pytest.approx(sum(ledger), abs=1e-4)
    assert await store.spend_today() == pytest.approx(sum(ledger))
