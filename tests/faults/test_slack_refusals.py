"""Slack's real refusals, as its docs describe them, through the real app over HTTP: content
too long for one message, edits refused, channels the bot is not in or that are archived,
ephemeral messages in threads that do not exist, and response_urls past their limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.render.messages import CANCEL_ACTION
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.world import World
from tests.faults.conftest import eventually, root_ts, run_ended, serves_next_request

pytestmark = pytest.mark.e2e

HINT = "Tell me what to research"


def the_answer(args: dict[str, Any]) -> bool:
    return "Integrated answer" in str(args.get("text", ""))


def plan_of(slack: FakeSlack, channel: str = "C1") -> Any:
    return slack.thread(channel, root_ts(slack, channel))[1]


# --- content Slack refuses ------------------------------------------------------------------


async def test_an_answer_over_slacks_whole_message_limit_still_lands_in_full(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # One markdown block under its own 12,000 limit, but with the footer over the ~11.3k of
    # block text Slack takes in one message (msg_blocks_too_long).
    fake_slack.free_team = True  # no canvas (tests/e2e/test_canvas_report.py): messages
    answer = "\n\n".join(f"Finding {i}: " + "detail " * 160 + f"END{i}" for i in range(10))
    assert 11_000 < len(answer) < 12_000
    fake_claude.respond("integrator", lambda c: Reply(text=answer))
    await world.command("a report just under the markdown limit")
    thread = await run_ended(world)
    for i in range(10):
        assert f"END{i}" in thread
    assert "tokens in" in thread
    assert "could not post" not in str(fake_slack.responses)


async def test_a_refused_final_plan_edit_leaves_no_cancel_button_on_a_finished_run(
    world: World, fake_slack: FakeSlack
) -> None:
    def final_plan(args: dict[str, Any]) -> bool:
        blocks = args.get("blocks") or []
        return bool(blocks) and CANCEL_ACTION not in json.dumps(blocks)

    armed = fake_slack.fail("chat.update", error="msg_too_long", match=final_plan)
    await world.command("a plan Slack balks at")
    thread = await run_ended(world)
    assert armed.times == 0
    assert "Integrated answer" in thread
    plan = plan_of(fake_slack)
    await eventually(lambda: CANCEL_ACTION not in json.dumps(plan.blocks))
    assert plan.visible_text().count("done in") == 3


@pytest.mark.slow
async def test_plan_edits_refused_throughout_end_as_text_without_a_cancel_button(
    world: World, fake_slack: FakeSlack
) -> None:
    fake_slack.fail(
        "chat.update", error="invalid_blocks", times=None, match=lambda a: bool(a.get("blocks"))
    )
    await world.command("blocks never accepted")
    thread = await run_ended(world)
    assert "Integrated answer" in thread
    plan = plan_of(fake_slack)
    await eventually(lambda: plan.blocks == [])
    assert "3/3 done" in plan.visible_text()
    await serves_next_request(world)


# --- private replies where the person sees them ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"), [("<@UBOT>   ", HINT), ("<@UBOT> " + "y" * 5000, "limit is 4,000")]
)
async def test_the_hint_for_a_top_level_mention_is_shown_to_the_person(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic, text: str, said: str
) -> None:
    # A top-level mention has no thread yet: an ephemeral aimed at one would never be shown.
    _, ts = await world.mention(text)
    await eventually(lambda: any(said in t for t in fake_slack.visible_ephemeral("U1", "C1")))
    assert fake_slack.thread("C1", ts)[1:] == []
    assert fake_claude.calls == []


async def test_the_hint_for_a_mention_inside_a_thread_is_shown_in_that_thread(
    world: World, fake_slack: FakeSlack
) -> None:
    parent = fake_slack.add_user_message("C1", "U7", "Which queue?")
    fake_slack.add_user_message("C1", "U8", "no idea", thread_ts=parent)
    await world.mention("<@UBOT>", thread_ts=parent)
    await eventually(lambda: any(HINT in t for t in fake_slack.visible_ephemeral("U1")))
    assert fake_slack.ephemerals[-1].thread_ts == parent


async def test_a_mention_whose_thread_refuses_the_plan_is_told_privately_in_the_channel(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # A channel where replies are not allowed: the plan (a reply) is refused, no thread exists.
    fake_slack.fail(
        "chat.postMessage", error="restricted_action_non_threadable_channel", times=None
    )
    await world.mention("<@UBOT> compare Kafka and RabbitMQ")
    await eventually(lambda: bool(fake_slack.visible_ephemeral("U1", "C1")))
    told = fake_slack.visible_ephemeral("U1", "C1")[-1]
    assert "did not start" in told
    assert "setting" in told
    assert fake_claude.calls == []


# --- channels the bot is not in, or archived ------------------------------------------------


async def test_a_command_in_a_channel_without_the_bot_says_how_to_invite_it(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.remove_bot("C2")
    await world.command("research here", channel="C2", reply_to="me")
    await eventually(lambda: bool(fake_slack.responses_to.get("me")))
    assert "/invite @Orchestra" in str(fake_slack.responses_to["me"][-1]["text"])
    assert fake_slack.channel_messages("C2") == []
    assert fake_claude.calls == []
    fake_slack.add_bot("C2")
    await serves_next_request(world, channel="C2")


async def test_a_command_in_an_archived_channel_says_it_is_archived(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.archive("C3")
    await world.command("research here", channel="C3", reply_to="me")
    await eventually(lambda: bool(fake_slack.responses_to.get("me")))
    told = str(fake_slack.responses_to["me"][-1]["text"])
    assert "archived" in told
    assert "try again" not in told.lower()
    assert fake_claude.calls == []


async def test_the_bot_removed_mid_run_still_tells_the_requester_how_it_ended(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("subagent", lambda c: Reply(text="slow", latency=0.2))
    await world.command("removed while working", reply_to="me")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    fake_slack.remove_bot("C1")
    await run_ended(world)
    await eventually(lambda: bool(fake_slack.responses_to.get("me")))
    told = str(fake_slack.responses_to["me"][-1]["text"])
    assert "could not post the answer" in told
    assert "/invite @Orchestra" in told


# --- response_url past its limits -----------------------------------------------------------


async def test_a_run_ending_after_its_response_url_expired_tells_the_requester_by_ephemeral(
    world: World, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", error="fatal_error", times=None, match=the_answer)
    await world.command("a long one", reply_to="me")
    fake_slack.advance(31 * 60)  # the run ends after Slack stopped taking its response_url
    await run_ended(world)
    await eventually(lambda: bool(fake_slack.visible_ephemeral("U1", "C1")))
    assert "could not post the answer" in fake_slack.visible_ephemeral("U1", "C1")[-1]
    assert not fake_slack.responses_to.get("me")
