"""Fault matrix, Slack side: each Web API method the app calls, every failure Slack answers
with (only codes the method documents: `FakeSlack.fail` refuses others). Each case ends
visibly, posts nothing twice, and the app goes on serving."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.fakes.claude import FakeAnthropic
from sandbox.fakes.slack import RESET, FakeSlack
from sandbox.world import World
from tests.faults.conftest import eventually, run_ended, serves_next_request, thread_text

pytestmark = pytest.mark.e2e

TRANSIENT: dict[str, dict[str, Any]] = {
    "429 retry-after": {"status": 429, "error": "ratelimited", "retry_after": 0},
    "500": {"status": 500, "error": "internal_error"},
    "ratelimited": {"status": 200, "error": "ratelimited", "retry_after": 0},
}
# Refusals each method documents (sandbox/fakes/slack_limits.METHOD_ERRORS).
REFUSALS = {
    "chat.postMessage": [
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_blocks_too_long",
    ],
    "chat.update": ["channel_not_found", "is_inactive", "msg_too_long", "invalid_blocks"],
    "chat.postEphemeral": ["channel_not_found", "not_in_channel", "msg_too_long"],
    "conversations.replies": ["channel_not_found", "thread_not_found"],
}


def no_duplicates(slack: FakeSlack, channel: str = "C1") -> None:
    for root in slack.channel_messages(channel):
        texts = [m.visible_text() for m in slack.thread(channel, root.ts)]
        assert len(set(texts)) == len(texts), texts


async def mention_in_a_thread(world: World) -> str:
    parent = world.slack.add_user_message("C1", "U7", "We are choosing a queue")
    world.slack.add_user_message("C1", "U8", "about 2k msgs/s", thread_ts=parent)
    await world.mention("<@UBOT> compare Kafka and RabbitMQ", thread_ts=parent)
    await eventually(lambda: "tokens in" in thread_text(world.slack.thread("C1", parent)))
    return parent


@pytest.mark.parametrize("fault", list(TRANSIENT))
@pytest.mark.parametrize("method", ["chat.postMessage", "chat.update"])
async def test_a_transient_post_or_update_failure_is_retried_without_duplicates(
    world: World, fake_slack: FakeSlack, method: str, fault: str
) -> None:
    armed = fake_slack.fail(method, **TRANSIENT[fault])
    await world.command("survive Slack")
    thread = await run_ended(world)
    assert armed.times == 0
    assert "Integrated answer" in thread
    assert len(fake_slack.channel_messages("C1")) == 1
    no_duplicates(fake_slack)
    plan = fake_slack.thread("C1", fake_slack.channel_messages("C1")[0].ts)[1]
    assert plan.visible_text().count("done in") == 3  # the final state landed
    await serves_next_request(world)


@pytest.mark.parametrize("fault", list(TRANSIENT))
async def test_a_transient_replies_failure_is_retried_and_context_still_arrives(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, fault: str
) -> None:
    armed = fake_slack.fail("conversations.replies", **TRANSIENT[fault])
    await mention_in_a_thread(world)
    assert armed.times == 0
    plan_request = fake_claude.calls_for("orchestrator")[0].body["messages"][0]["content"]
    assert "2k msgs/s" in plan_request


@pytest.mark.parametrize("error", REFUSALS["conversations.replies"])
async def test_thread_context_refused_still_answers_the_goal(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, error: str
) -> None:
    fake_slack.fail("conversations.replies", error=error, times=None)
    await mention_in_a_thread(world)
    plan_request = fake_claude.calls_for("orchestrator")[0].body["messages"][0]["content"]
    assert "compare Kafka and RabbitMQ" in plan_request
    assert "2k msgs/s" not in plan_request
    no_duplicates(fake_slack)


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel"])
async def test_a_channel_the_bot_cannot_post_in_gets_a_private_explanation(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, error: str
) -> None:
    fake_slack.fail("chat.postMessage", error=error, times=None)
    await world.command("research in a private channel", channel="CPRIVATE")
    await eventually(lambda: bool(fake_slack.responses))
    assert "/invite @Orchestra" in str(fake_slack.responses[-1]["text"])
    assert fake_slack.responses[-1].get("response_type") == "ephemeral"
    assert fake_claude.calls == []
    await eventually(lambda: not world.deps.runs.running)
    fake_slack.clear_faults()
    await serves_next_request(world)


@pytest.mark.parametrize(
    "error", ["msg_blocks_too_long", "invalid_blocks", "invalid_blocks_format"]
)
async def test_an_answer_whose_blocks_slack_refuses_reaches_the_thread_as_plain_text(
    world: World, fake_slack: FakeSlack, error: str
) -> None:
    # Slack's real limits can be stricter than documented: the answer must land anyway.
    def has_markdown(args: dict[str, Any]) -> bool:
        return any(b.get("type") == "markdown" for b in args.get("blocks") or [])

    fake_slack.fail("chat.postMessage", error=error, times=None, match=has_markdown)
    await world.command("long answer please")
    thread = await run_ended(world)
    assert "Integrated answer" in thread
    assert "tokens in" in thread
    no_duplicates(fake_slack)


@pytest.mark.parametrize("error", REFUSALS["chat.postMessage"])
async def test_answer_that_cannot_be_posted_is_reported_to_the_requester(
    world: World, fake_slack: FakeSlack, error: str
) -> None:
    def answer_or_fallback(args: dict[str, Any]) -> bool:
        return "Integrated answer" in str(args.get("text", ""))

    fake_slack.fail("chat.postMessage", error=error, times=None, match=answer_or_fallback)
    await world.command("bot removed mid-run")
    await run_ended(world)
    await eventually(lambda: bool(fake_slack.responses))
    told = str(fake_slack.responses[-1]["text"])
    assert "could not post the answer" in told
    assert fake_slack.responses[-1].get("response_type") == "ephemeral"
    no_duplicates(fake_slack)


@pytest.mark.parametrize("error", [*REFUSALS["chat.update"], "service_unavailable"])
async def test_plan_updates_refused_still_end_with_the_answer(
    world: World, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.fail("chat.update", error=error, times=None)
    await world.command("stale plan")
    thread = await run_ended(world)
    assert "Integrated answer" in thread
    no_duplicates(fake_slack)
    await serves_next_request(world)


@pytest.mark.parametrize("fault", [*TRANSIENT, *REFUSALS["chat.postEphemeral"]])
async def test_usage_hint_reaches_the_person_even_when_ephemeral_fails(
    world: World, fake_slack: FakeSlack, fault: str
) -> None:
    spec = TRANSIENT.get(fault, {"error": fault, "times": None})
    fake_slack.fail("chat.postEphemeral", **spec)
    _, ts = await world.mention("<@UBOT>   ")

    def hinted() -> bool:
        in_thread = "Tell me what to research" in thread_text(fake_slack.thread("C1", ts))
        privately = any("Tell me what to research" in t for t in fake_slack.visible_ephemeral("U1"))
        return in_thread or privately

    await eventually(hinted)
    assert not world.deps.runs.running
    await serves_next_request(world)


@pytest.mark.parametrize("method", ["chat.update", "conversations.replies"])
async def test_a_dropped_connection_is_retried_where_repeating_is_safe(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, method: str
) -> None:
    armed = fake_slack.fail(method, reset=True)
    parent = await mention_in_a_thread(world)
    # (A plan edit may come after the answer: plan edits wait behind answers.)
    await eventually(lambda: armed.times == 0)
    assert len([c for c in fake_slack.calls_to(method) if c.status == RESET]) == 1
    plan = fake_slack.thread("C1", parent)[3]
    await eventually(lambda: plan.visible_text().count("done in") == 3)
    plan_request = fake_claude.calls_for("orchestrator")[0].body["messages"][0]["content"]
    assert "2k msgs/s" in plan_request


async def test_a_post_whose_reply_is_lost_is_not_repeated_and_the_requester_is_told(
    world: World, fake_slack: FakeSlack
) -> None:
    def the_answer(args: dict[str, Any]) -> bool:
        return "Integrated answer" in str(args.get("text", ""))

    fake_slack.fail("chat.postMessage", lost_reply=True, match=the_answer)
    await world.command("answer lost in transit", reply_to="me")
    thread = await run_ended(world)
    assert thread.count("Integrated answer") == 1  # posted once, never twice
    await eventually(lambda: bool(fake_slack.responses_to.get("me")))
    assert "may be missing" in str(fake_slack.responses_to["me"][-1]["text"])


async def test_a_root_post_that_cannot_reach_slack_starts_nothing_and_says_so(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.fail("chat.postMessage", reset=True)
    await world.command("unlucky", reply_to="me")
    await eventually(lambda: bool(fake_slack.responses_to.get("me")))
    assert "did not start" in str(fake_slack.responses_to["me"][-1]["text"])
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # not retried: it may have posted
    assert fake_claude.calls == []
    await serves_next_request(world)


async def test_an_ephemeral_that_cannot_reach_slack_falls_back_to_the_thread(
    world: World, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postEphemeral", reset=True)
    _, ts = await world.mention("<@UBOT>")
    await eventually(lambda: "Tell me what to research" in thread_text(fake_slack.thread("C1", ts)))
    assert len(fake_slack.calls_to("chat.postEphemeral")) == 1
