"""End to end: the real app over HTTP with signed requests, both fakes, asserting on what a
person would read in the thread."""

from __future__ import annotations

import time

import pytest

from bot.render.messages import CANCEL_ACTION
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(messages_world: World) -> World:
    """Answers as messages, not a canvas: these tests are about the messages."""
    return messages_world


def root_of(slack: FakeSlack, channel: str = "C1") -> str:
    return slack.channel_messages(channel)[0].ts


def answered(
    slack: FakeSlack, root: str, needle: str = "Integrated answer", channel: str = "C1"
) -> bool:
    return needle in thread_text(slack.thread(channel, root))


async def test_research_command_runs_live_in_a_thread(world: World, fake_slack: FakeSlack) -> None:
    started = time.monotonic()
    response = await world.command("compare three databases", user="U42")
    assert response.status == 200
    assert time.monotonic() - started < 3
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = fake_slack.channel_messages("C1")[0]
    assert "<@U42>" in root.visible_text()
    assert "compare three databases" in root.visible_text()
    await eventually(lambda: answered(fake_slack, root.ts))
    await eventually(lambda: not world.deps.runs.running)  # the plan's last edit follows
    thread = fake_slack.thread("C1", root.ts)
    plan = thread[1]
    for sub in ("s1", "s2", "s3"):
        assert f"*{sub}*" in plan.visible_text()
    assert plan.visible_text().count("done in") == 3
    assert plan.edited >= 1
    footer = thread_text(thread[2:])
    assert "3/3 subtasks done" in footer
    assert "tokens in" in footer
    assert "$" in footer


async def test_empty_command_gets_a_usage_hint_and_no_run(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    async with world.http.post(f"{world.app_url}/healthz") as _:
        pass
    body_response = await world.command("   ")
    assert body_response.status == 200
    assert fake_slack.channel_messages("C1") == []
    assert fake_claude.calls == []


async def test_mention_in_a_thread_uses_earlier_messages_as_context(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    parent = fake_slack.add_user_message("C1", "U7", "We are choosing a queue for billing events")
    fake_slack.add_user_message("C1", "U8", "Throughput is about 2k msgs/s", thread_ts=parent)
    response, _ = await world.mention("<@UBOT> compare Kafka and RabbitMQ", thread_ts=parent)
    assert response.status == 200
    await eventually(lambda: answered(fake_slack, parent))
    plan_request = fake_claude.calls_for("orchestrator")[0].body["messages"][0]["content"]
    assert "billing events" in plan_request
    assert "2k msgs/s" in plan_request
    assert "compare Kafka and RabbitMQ" in plan_request
    assert "<@UBOT>" not in plan_request.split("<goal>")[1]


async def test_same_event_delivered_twice_starts_one_run(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    first, ts = await world.mention("<@UBOT> research tides", event_id="Ev1")
    again, _ = await world.mention(
        "<@UBOT> research tides",
        event_id="Ev1",
        ts=ts,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
        timestamp=int(time.time()) + 1,  # Slack signs every delivery afresh
    )
    assert first.status == again.status == 200
    await eventually(lambda: answered(fake_slack, ts))
    assert len(fake_claude.calls_for("orchestrator")) == 1
    assert len(fake_claude.calls_for("integrator")) == 1


async def test_long_answer_arrives_complete_over_several_messages(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    paragraphs = [f"Paragraph {i}: " + "findings " * 120 + f"END{i}" for i in range(20)]
    answer = "\n\n".join(paragraphs)
    assert len(answer) >= 20_000
    fake_claude.respond("integrator", lambda c: Reply(text=answer))
    await world.command("a long report")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = root_of(fake_slack)
    await eventually(lambda: answered(fake_slack, root, "tokens in"))
    replies = fake_slack.thread("C1", root)[2:]
    assert len(replies) >= 2
    text = thread_text(replies)
    for i in range(20):
        assert f"END{i}" in text
    errors = [c for c in fake_slack.calls if not c.response.get("ok")]
    assert errors == []


async def test_failing_subtask_is_marked_and_named_while_the_answer_is_posted(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500))
    await world.command("something partial")
    await eventually(lambda: bool(fake_slack.channel_messages("C1")))
    root = root_of(fake_slack)
    await eventually(lambda: answered(fake_slack, root, "tokens in"))
    await eventually(lambda: not world.deps.runs.running)  # the plan's last edit follows
    thread = fake_slack.thread("C1", root)
    assert "failed: Claude returned an error (500)." in thread[1].visible_text()
    assert "Not included: Researcher of aspect 2 (failed)" in thread_text(thread[2:])
    assert "Integrated answer" in thread_text(thread[2:])


async def test_cancel_button_stops_the_run(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=30))
    await world.command("a slow one", user="U5")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    root = root_of(fake_slack)
    plan = fake_slack.thread("C1", root)[1]
    run_id = world.deps.runs.running[0].run_id
    response = await world.click(
        CANCEL_ACTION, run_id, message_ts=plan.ts, thread_ts=root, user="U5"
    )
    assert response.status == 200
    await eventually(lambda: "Cancelled by <@U5>" in thread_text(fake_slack.thread("C1", root)))
    await eventually(lambda: all(c.finished_at > 0 for c in fake_claude.calls))
    await eventually(lambda: not world.deps.runs.running)  # the plan's last edit follows
    thread = fake_slack.thread("C1", root)
    assert "cancelled" in thread[1].visible_text()
    assert "Integrated answer" not in thread_text(thread)
    assert fake_claude.calls_for("integrator") == []
    assert CANCEL_ACTION not in str(thread[1].blocks)
    assert thread_text(thread).count("Cancelled by") == 1  # said once, not in the plan too


async def test_only_the_requester_may_cancel(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=2))
    await world.command("mine", user="U5")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    root = root_of(fake_slack)
    run = world.deps.runs.running[0]
    await world.click(
        CANCEL_ACTION, run.run_id, message_ts=str(run.plan_ts), thread_ts=root, user="U6"
    )
    await eventually(lambda: bool(fake_slack.ephemeral))
    assert "Only <@U5>" in fake_slack.ephemeral[0][2]
    await eventually(lambda: answered(fake_slack, root))


@pytest.mark.parametrize("case", ["unsigned", "wrong", "stale"])
async def test_bad_signatures_are_rejected_without_side_effects(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, case: str
) -> None:
    from sandbox.fakes import signing

    body, kind = signing.slash_command(command="/research", text="x", user="U1", channel="C1")
    url = f"{world.app_url}/slack/events"
    if case == "unsigned":
        headers = {"Content-Type": kind}
    elif case == "wrong":
        headers = {"Content-Type": kind, **signing.sign("not-the-secret", body)}
    else:
        headers = {"Content-Type": kind, **signing.sign(world.secret, body, int(time.time()) - 600)}
    async with world.http.post(url, data=body, headers=headers) as response:
        assert response.status == 401
    assert fake_claude.calls == []
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.mark.slow
async def test_concurrent_runs_in_one_channel_under_strict_limits(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # Five runs share the channel's one post a second (about 20 posts): as many as ten would
    # prove, in half the time.
    fake_slack.strict_rate_limits = True
    for i in range(5):
        await world.command(f"question {i}", user=f"U{i}")
    await eventually(lambda: len(fake_slack.channel_messages("C1")) == 5, within=30)
    roots = [m.ts for m in fake_slack.channel_messages("C1")]
    await eventually(lambda: all(answered(fake_slack, r, "tokens in") for r in roots), within=60)
    assert [c for c in fake_slack.calls if not c.response.get("ok") and c.status != 429] == []
    assert len(fake_claude.calls_for("integrator")) == 5


async def test_a_long_thread_gives_its_newest_messages_as_context(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    parent = fake_slack.add_user_message("C1", "U7", "The big migration thread")
    for i in range(450):  # more than two pages of 200 (one of Slack's 1,000)
        fake_slack.add_user_message("C1", "U8", f"reply number {i}", thread_ts=parent)
    await world.mention("<@UBOT> summarise the risks", thread_ts=parent)
    await eventually(lambda: answered(fake_slack, parent))
    plan_request = fake_claude.calls_for("orchestrator")[0].body["messages"][0]["content"]
    assert "reply number 449" in plan_request
    assert "reply number 431" in plan_request  # the newest 20 before the mention
    assert "reply number 3\n" not in plan_request
    assert "reply number 100" not in plan_request
    assert len(fake_slack.calls_to("conversations.replies")) == 1  # the whole thread
