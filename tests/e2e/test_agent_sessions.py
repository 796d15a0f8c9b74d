"""End to end: a DM run under Slack's agent view keeps its thread's agent session and what
Slack drops or refuses (issue 20). The session is "processing" (Slack's spinner and stop
button) from a turn's start, queued or planning included, and moved off it however the turn
ends: Slack never does so by itself. The thread is titled after the goal; the status line is
re-sent before Slack's two-minute expiry; a chunk Slack refuses is shortened, then dropped,
never re-sent for ever; a stream call whose answer was lost is reconciled, not repeated.
The real app over HTTP against both fakes; no test leaves a session processing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.render import notes
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import simple_plan
from sandbox.fakes.claude import FakeAnthropic, Reply
from sandbox.fakes.slack import RESET, FakeSlack
from sandbox.fakes.slack_streams import Stream
from sandbox.world import World, running_world
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

DM = "D1"
ANSWER = "\n\n".join(f"Paragraph {i}: " + "findings " * 30 for i in range(6))


@pytest.fixture(autouse=True)
async def no_session_left_processing(fake_slack: FakeSlack) -> AsyncIterator[None]:
    """Set up before the world and checked after it closed: nothing is left spinning."""
    yield
    assert [(s.channel, s.thread_ts) for s in fake_slack.sessions_processing()] == []


@pytest.fixture
async def brisk_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    """A world whose idle stream is written to, and status line re-sent, every 0.2 s."""
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    async with running_world(
        fake_slack, AnthropicLLM(client), config, stream_keepalive_s=0.2, status_refresh_s=0.2
    ) as world:
        yield world
    await client.close()


def only_stream(slack: FakeSlack, thread_ts: str) -> Stream:
    streams = slack.streams_in(DM, thread_ts)
    assert len(streams) == 1, streams
    return streams[0]


def session_calls(slack: FakeSlack) -> list[str]:
    return [str(c.args["status"]) for c in slack.calls_to("agents.sessions.setStatus")]


async def run_over(world: World, claude: FakeAnthropic) -> None:
    await eventually(lambda: bool(claude.calls_for("orchestrator")))
    await eventually(lambda: not world.deps.runs.running, within=30)


def with_text(args: dict[str, Any]) -> bool:
    return any(c.get("type") == "markdown_text" for c in args.get("chunks") or [])


async def test_a_run_that_ends_leaves_its_session_active_and_its_thread_titled(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    _, ts = await world.dm("compare three databases")
    await run_over(world, fake_claude)
    assert only_stream(fake_slack, ts).state == "stopped"
    session = fake_slack.session(DM, ts)
    assert session is not None
    assert session.history() == ["processing", "active"]
    assert session.title == "compare three databases"
    assert fake_slack.titles[(DM, ts)] == "compare three databases"  # the agent's History
    # Processing from the first write (Stop exists while planning); the stop ended it.
    assert session_calls(fake_slack) == ["processing"]
    first_write = min(c.at for c in fake_slack.calls if c.method != "auth.test")
    assert fake_slack.calls_to("agents.sessions.setStatus")[0].at == first_write
    assert fake_slack.session_status(DM, ts) == "active"


async def test_a_run_stopped_while_planning_leaves_its_session_active(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(simple_plan("Research the goal."), latency=30)
    _, ts = await world.dm("a slow plan", user="U5")
    await eventually(lambda: fake_slack.status(DM, ts) == notes.PLANNING_STATUS)
    assert fake_slack.session_status(DM, ts) == "processing"  # Stop exists while planning
    response = await world.stop_button(thread_ts=ts, user="U5")  # no stream to stop yet
    assert response.status == 200
    await eventually(lambda: not world.deps.runs.running)
    await eventually(lambda: fake_slack.session_status(DM, ts) == "active")
    assert fake_slack.streams_in(DM, ts) == []
    assert "Cancelled by <@U5>" in thread_text(fake_slack.thread(DM, ts))
    assert session_calls(fake_slack) == ["processing", "active"]
    assert fake_slack.status(DM, ts) == ""


async def test_a_stream_past_its_cap_is_finished_by_an_edit_and_its_session_left_active(
    brisk_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.stream_max_s = 1.0  # Slack's ~5 minutes, shortened; kept alive meanwhile
    fake_claude.respond("subagent", lambda c: Reply(text=f"Result {c.index}", latency=2))
    _, ts = await brisk_world.dm("outlive the stream's cap")
    await run_over(brisk_world, fake_claude)
    stream = only_stream(fake_slack, ts)
    assert stream.state == "expired"
    assert stream.ended_at == pytest.approx(stream.started_at + 1.0)
    message = fake_slack.find(DM, stream.ts)
    assert message is not None
    assert "Integrated answer from the fake." in message.visible_text()
    assert fake_slack.calls_to("chat.update")
    # No successful stop: the app moved the session off processing itself.
    assert session_calls(fake_slack) == ["processing", "active"]
    assert fake_slack.session_status(DM, ts) == "active"


async def test_a_stop_with_no_live_run_moves_the_session_off_processing(
    world: World, fake_slack: FakeSlack
) -> None:
    # A session left processing by a run that is gone (a crash before its end).
    ts = fake_slack.add_user_message(DM, "U1", "an old request")
    await world.deps.io.client.agents_sessions_setStatus(
        channel_id=DM, thread_ts=ts, status="processing"
    )
    response = await world.stop_button(thread_ts=ts, user="U1")
    assert response.status == 200
    await eventually(lambda: fake_slack.session_status(DM, ts) == "active")


async def test_the_status_line_is_resent_before_slack_drops_it(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, brisk_world: World
) -> None:
    fake_slack.status_timeout_s = 0.6  # Slack's two minutes, shortened
    fake_claude.respond_plan(simple_plan("Research the goal."), latency=2.5)
    _, ts = await brisk_world.dm("a long plan")
    await eventually(lambda: bool(fake_claude.calls_for("subagent")), within=10)
    planning = [c for c in fake_slack.status_changes(DM, ts) if c.status or c.cause == "timeout"]
    assert len(planning) >= 5  # re-sent while the plan took 2.5 s
    assert all(c.cause == "set" for c in planning)  # and never dropped by the timeout
    assert {c.status for c in planning} == {notes.PLANNING_STATUS}
    await run_over(brisk_world, fake_claude)


async def test_a_refused_task_update_is_shortened_then_dropped_and_the_stream_goes_on(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    def s2_done(args: dict[str, Any]) -> bool:
        chunks = args.get("chunks") or []
        return any(c.get("id") == "s2" and c.get("status") == "complete" for c in chunks)

    fake_slack.fail("chat.appendStream", error="invalid_chunks", times=None, match=s2_done)
    fake_claude.respond("subagent", lambda c: Reply(text=f"Result {c.index}", latency=0.3))
    fake_claude.respond("integrator", lambda c: Reply(text=ANSWER, latency=1))
    _, ts = await world.dm("one bad chunk")
    await run_over(world, fake_claude)
    stream = only_stream(fake_slack, ts)
    assert stream.state == "stopped"
    assert stream.text.strip() == ANSWER.strip()  # the answer was not held back
    refused = [c for c in fake_slack.calls_to("chat.appendStream") if s2_done(c.args)]
    alone = [c for c in refused if len(c.args["chunks"]) == 1]
    assert 2 <= len(refused) <= 4  # sent once with others, alone, then shortened: dropped
    [short] = [c for c in alone if "sources" not in c.args["chunks"][0]][-1:]
    assert short is alone[-1]
    assert stream.tasks["s1"]["status"] == stream.tasks["s3"]["status"] == "complete"
    later = [c for c in fake_slack.calls_to("chat.appendStream") if c.at > refused[-1].at]
    assert later  # the stream kept going
    assert all(c.response.get("ok") for c in later)


async def test_a_stream_start_whose_answer_was_lost_is_adopted_not_repeated(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.fail("chat.startStream", lost_reply=True)  # it started; the answer is lost
    _, ts = await world.dm("a lost answer")
    await run_over(world, fake_claude)
    [start] = fake_slack.calls_to("chat.startStream")
    assert start.status == RESET
    stream = only_stream(fake_slack, ts)  # no second streamed message
    assert stream.state == "stopped"
    assert "Integrated answer from the fake." in stream.text
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_a_stream_start_that_never_arrived_is_not_retried_and_the_answer_is_posted(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.fail("chat.startStream", reset=True)  # dropped before Slack saw it
    _, ts = await world.dm("a dropped start")
    await run_over(world, fake_claude)
    assert len(fake_slack.calls_to("chat.startStream")) == 1  # slack_sdk did not retry it
    assert fake_slack.streams_in(DM, ts) == []
    assert "Integrated answer from the fake." in thread_text(fake_slack.thread(DM, ts)[1:])
    assert session_calls(fake_slack) == ["processing", "active"]


async def test_an_append_whose_answer_was_lost_is_not_repeated_and_its_text_shows_once(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond("integrator", lambda c: Reply(text=ANSWER, latency=1.5))
    fake_slack.fail("chat.appendStream", lost_reply=True, match=with_text)
    _, ts = await world.dm("a lost append")
    await run_over(world, fake_claude)
    appends = fake_slack.calls_to("chat.appendStream")
    [lost] = [c for c in appends if c.status == RESET]
    texts = [
        str(c["text"]) for a in appends for c in a.args["chunks"] if c["type"] == "markdown_text"
    ]
    [lost_text] = [c["text"] for c in lost.args["chunks"] if c["type"] == "markdown_text"]
    assert texts.count(lost_text) == 1  # never sent again
    stream = only_stream(fake_slack, ts)
    assert stream.state == "stopped"
    assert stream.text.strip() == ANSWER.strip()  # every word once
