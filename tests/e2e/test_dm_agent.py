"""End to end: an agent in DMs. A direct message in the app's messages tab is a research
request (no mention), shown with Slack's native stream: a status line while planning, one
task per subtask with its live status, the answer streamed below the plan, feedback buttons
at the end; Slack's stop button cancels; an expired stream is continued with chat.update.
The real app over HTTP against both fakes."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.render import notes
from bot.render.native import FEEDBACK_ACTION
from bot.store import RunStore
from pipeline import PipelineConfig
from pipeline.anthropic_llm import AnthropicLLM, make_client
from pipeline.testing import simple_plan
from sandbox.fakes import signing
from sandbox.fakes.claude import FakeAnthropic, Fault, Reply
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_streams import Stream
from sandbox.world import World, running_world, world_settings
from tests.e2e.conftest import eventually, thread_text

pytestmark = pytest.mark.e2e

DM = "D1"
SUBTASKS = ("s1", "s2", "s3")


@pytest.fixture(autouse=True)
async def no_session_left_processing(fake_slack: FakeSlack) -> AsyncIterator[None]:
    """Set up before the world and checked after it closed: Slack never moves an agent
    session off "processing" by itself, so every way a DM run ends must."""
    yield
    assert [(s.channel, s.thread_ts) for s in fake_slack.sessions_processing()] == []


def states(stream: Stream, task_id: str) -> list[str]:
    """The statuses a task went through (a status resent with new details counted once)."""
    return [status for status, _ in itertools.groupby(stream.task_states(task_id))]


def only_stream(slack: FakeSlack, thread_ts: str) -> Stream:
    streams = slack.streams_in(DM, thread_ts)
    assert len(streams) == 1, streams
    return streams[0]


def ended(slack: FakeSlack, thread_ts: str) -> bool:
    streams = slack.streams_in(DM, thread_ts)
    return bool(streams) and streams[-1].state != "streaming"


def feedback_buttons(block_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        element
        for block in block_list
        if block.get("type") == "context_actions"
        for element in block.get("elements", [])
        if element.get("action_id") == FEEDBACK_ACTION
    ]


async def run_over(world: World, claude: FakeAnthropic, runs: int = 1) -> None:
    """Wait until `runs` runs have asked Claude for a plan and none is live any more."""
    await eventually(lambda: len(claude.calls_for("orchestrator")) >= runs)
    await eventually(lambda: not world.deps.runs.running, within=30)


def slow_subagents(claude: FakeAnthropic, latency: float) -> None:
    claude.respond("subagent", lambda call: Reply(text=f"Result {call.index}", latency=latency))


async def test_a_dm_is_a_request_answered_in_a_native_stream(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    slow_subagents(fake_claude, 0.6)  # longer than a write interval: each state is shown
    response, ts = await world.dm("compare three databases")  # no mention needed
    assert response.status == 200
    await eventually(lambda: ended(fake_slack, ts), within=20)
    await eventually(lambda: not world.deps.runs.running)
    stream = only_stream(fake_slack, ts)
    assert stream.state == "stopped"
    assert stream.task_display_mode == "plan"
    for sub in SUBTASKS:
        assert states(stream, sub) == ["pending", "in_progress", "complete"], sub
        assert "done in" in stream.tasks[sub]["details"]
    assert stream.plan_title == "Finished: 3 done"
    assert "Integrated answer from the fake." in stream.text
    closing = str(stream.blocks)
    assert "3/3 subtasks done" in closing
    assert "tokens in" in closing
    assert len(feedback_buttons(stream.blocks)) == 1
    methods = [c.method for c in fake_slack.calls if c.method.startswith("chat.")]
    assert methods[0] == "chat.startStream"
    assert methods[-1] == "chat.stopStream"
    assert "chat.appendStream" in methods
    assert "chat.postMessage" not in methods  # the whole run is the one streamed reply
    history = fake_slack.status_history(DM, ts)
    assert history[0] == notes.PLANNING_STATUS
    assert history[-1] == ""
    assert fake_slack.status(DM, ts) == ""
    errors = [c for c in fake_slack.calls if not c.response.get("ok")]
    assert errors == []


@pytest.mark.slow
async def test_the_answer_streams_while_the_integrator_writes(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    paragraphs = [f"Paragraph {i}: " + "words " * 40 for i in range(12)]
    answer = "\n\n".join(paragraphs)

    # The fake spreads `latency` over the stream's chunks: it writes for two seconds.
    fake_claude.respond("integrator", lambda c: Reply(text=answer, latency=2))
    _, ts = await world.dm("a streamed answer")
    await eventually(lambda: ended(fake_slack, ts), within=20)
    stream = only_stream(fake_slack, ts)
    text_writes = [w for w in stream.writes if w.markdown_text]
    assert len(text_writes) >= 2  # it grew, not in one piece at the end
    assert stream.text.strip() == answer.strip()


async def test_a_failed_subtask_is_an_error_task_and_the_status_is_cleared(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    slow_subagents(fake_claude, 0.4)
    fake_claude.inject(Fault(match=lambda c: "aspect 2" in c.system_text, times=None, status=500))
    _, ts = await world.dm("something partial")
    await eventually(lambda: ended(fake_slack, ts), within=20)
    stream = only_stream(fake_slack, ts)
    assert states(stream, "s2")[-1] == "error"
    assert states(stream, "s2")[0] == "pending"
    assert "failed" in stream.tasks["s2"]["details"]
    assert states(stream, "s1")[-1] == "complete"
    assert "Not included" in str(stream.blocks)
    assert stream.plan_title == "Finished: 2 done, 1 failed"
    assert fake_slack.status_history(DM, ts)[-1] == ""


async def test_a_run_that_fails_clears_its_status_and_says_why(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(role="subagent", times=None, status=500))
    _, ts = await world.dm("everything fails")
    await run_over(world, fake_claude)
    await eventually(lambda: fake_slack.status(DM, ts) == "")
    stream = only_stream(fake_slack, ts)
    assert stream.state == "stopped"
    assert "Every subtask failed" in stream.text
    assert [states(stream, s)[-1] for s in SUBTASKS] == ["error"] * 3
    assert notes.PLANNING_STATUS in fake_slack.status_history(DM, ts)


async def test_a_planning_failure_is_posted_and_clears_the_status(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.inject(Fault(role="orchestrator", times=None, status=401))
    _, ts = await world.dm("no key")
    await run_over(world, fake_claude)
    assert fake_slack.streams_in(DM, ts) == []  # no plan, so nothing to stream
    reply = thread_text(fake_slack.thread(DM, ts)[1:])
    assert ":warning:" in reply
    assert fake_slack.status_history(DM, ts) == [notes.PLANNING_STATUS, ""]


async def test_the_native_stop_button_cancels_the_run(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    slow_subagents(fake_claude, 30)
    _, ts = await world.dm("a slow one", user="U5")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    await eventually(lambda: bool(fake_slack.streams_in(DM, ts)))
    response = await world.stop_button(thread_ts=ts, user="U5")
    assert response.status == 200
    await eventually(lambda: not world.deps.runs.running)
    await eventually(lambda: all(c.finished_at > 0 for c in fake_claude.calls))
    stream = only_stream(fake_slack, ts)
    assert stream.stopped_by == "U5"
    assert stream.state == "stopped"  # the app ended the session, as Slack asks
    assert "Cancelled by <@U5>" in stream.text
    assert fake_claude.calls_for("integrator") == []
    assert feedback_buttons(stream.blocks) == []
    assert fake_slack.status(DM, ts) == ""
    [stored] = await world.deps.store.recent_runs(requester="U5", limit=5)
    assert stored.status == "cancelled"


async def test_the_stop_button_stops_the_threads_run_that_a_message_steered(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # A message in a live run's DM thread steers it (issue 22.2): no second run starts there,
    # and the stop button still stops the run it steered.
    slow_subagents(fake_claude, 30)
    _, ts = await world.dm("a slow one", user="U5")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    await world.dm("and mind the costs", user="U5", thread_ts=ts)
    await eventually(lambda: "Steering noted" in thread_text(fake_slack.thread(DM, ts)))
    assert len(fake_claude.calls_for("orchestrator")) == 1
    assert len(fake_slack.streams_in(DM, ts)) == 1
    assert (await world.stop_button(thread_ts=ts, user="U5")).status == 200
    await eventually(lambda: not world.deps.runs.running)
    assert fake_claude.calls_for("integrator") == []
    for stream in fake_slack.streams_in(DM, ts):
        assert stream.state == "stopped"
        assert "Cancelled by <@U5>" in stream.text
    stored = await world.deps.store.recent_runs(requester="U5", limit=5)
    assert [r.status for r in stored] == ["cancelled"]


async def test_stopped_tasks_read_as_stopped_not_failed(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # s1 is done before the stop; s2 and s3 are still working when it comes.
    fake_claude.respond(
        "subagent",
        lambda call: Reply(text="Result", latency=0 if "aspect 1" in call.system_text else 30),
    )
    _, ts = await world.dm("a slow one")
    await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
    await eventually(
        lambda: (
            bool(fake_slack.streams_in(DM, ts))
            and "complete" in fake_slack.streams_in(DM, ts)[0].task_states("s1")
        )
    )
    await world.stop_button(thread_ts=ts)
    await eventually(lambda: not world.deps.runs.running)
    stream = only_stream(fake_slack, ts)
    assert [c["status"] for c in stream.task_updates if c["status"] == "error"] == []
    assert [stream.tasks[s]["status"] for s in SUBTASKS] == ["complete"] * 3
    assert "done in" in stream.tasks["s1"]["details"]
    assert stream.tasks["s2"]["details"] == notes.TASK_STOPPED
    assert stream.tasks["s3"]["details"] == notes.TASK_STOPPED
    assert stream.plan_title == "Cancelled."


async def test_an_expired_stream_is_finished_by_editing_the_same_message(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.stream_idle_s = 0.5  # shorter than the subagents, and no keepalive that soon
    slow_subagents(fake_claude, 2)
    _, ts = await world.dm("outlast the stream")
    await run_over(world, fake_claude)
    stream = only_stream(fake_slack, ts)
    assert stream.state == "expired"
    message = fake_slack.find(DM, stream.ts)
    assert message is not None
    shown = message.visible_text()
    assert "Integrated answer from the fake." in shown
    assert "tokens in" in shown
    assert feedback_buttons(message.blocks)
    edits = [c for c in fake_slack.calls_to("chat.update") if c.args.get("ts") == stream.ts]
    assert edits
    assert edits[-1].response.get("ok")
    assert fake_slack.calls_to("chat.postMessage") == []
    assert fake_slack.status(DM, ts) == ""


@pytest.fixture
async def keepalive_world(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> AsyncIterator[World]:
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    async with running_world(
        fake_slack, AnthropicLLM(client), config, stream_keepalive_s=0.2
    ) as world:
        yield world
    await client.close()


@pytest.mark.slow
async def test_a_stream_is_kept_alive_while_subagents_work(
    keepalive_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.stream_idle_s = 1.5
    slow_subagents(fake_claude, 3)
    _, ts = await keepalive_world.dm("slow but alive")
    await run_over(keepalive_world, fake_claude)
    stream = only_stream(fake_slack, ts)
    assert stream.state == "stopped"
    assert "Integrated answer from the fake." in stream.text
    gaps = [b.at - a.at for a, b in itertools.pairwise(stream.writes)]
    assert max(gaps) < fake_slack.stream_idle_s
    assert fake_slack.calls_to("chat.update") == []


async def test_a_follow_up_dm_in_the_thread_gets_the_conversation(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # Agent view: the first DM is the thread's root (Slack posts none of its own).
    _, thread = await world.dm("compare Kafka and RabbitMQ for billing events")
    await eventually(lambda: not world.deps.runs.running and ended(fake_slack, thread), within=20)
    await world.dm("and which is cheaper to run?", thread_ts=thread)
    await eventually(lambda: len(fake_claude.calls_for("orchestrator")) == 2)
    await eventually(lambda: len(fake_slack.streams_in(DM, thread)) == 2, within=20)
    plan_request = fake_claude.calls_for("orchestrator")[1].body["messages"][0]["content"]
    assert "compare Kafka and RabbitMQ for billing events" in plan_request
    assert "Integrated answer from the fake." in plan_request  # the app's own answer
    assert "which is cheaper to run?" in plan_request


async def test_opening_the_dm_sets_its_prompts_within_three_seconds(
    world: World, fake_slack: FakeSlack
) -> None:
    response = await world.open_dm()  # agent view: app_home_opened, tab "messages"
    assert response.status == 200
    await eventually(lambda: (DM, "") in fake_slack.suggested_prompts, within=3)
    suggested = fake_slack.suggested_prompts[(DM, "")]
    assert suggested.title == notes.PROMPTS_TITLE
    assert [(p["title"], p["message"]) for p in suggested.prompts] == list(notes.SUGGESTED_PROMPTS)
    # Never on a thread: under agent view that call "will silently fail".
    [call] = fake_slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert "thread_ts" not in call.args
    assert fake_slack.home_views == {}  # the Home tab is not the DM


async def test_a_long_answer_stops_the_stream_and_continues_in_messages(
    messages_world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    paragraphs = [f"Paragraph {i}: " + "findings " * 120 + f"END{i}" for i in range(20)]
    answer = "\n\n".join(paragraphs)
    fake_claude.respond("integrator", lambda c: Reply(text=answer))
    _, ts = await messages_world.dm("a long report")
    await run_over(messages_world, fake_claude)
    stream = only_stream(fake_slack, ts)
    assert stream.state == "stopped"
    assert notes.ANSWER_CONTINUES in stream.text
    rest = [m for m in fake_slack.thread(DM, ts) if m.ts not in (ts, stream.ts)]
    assert rest
    whole = stream.text + thread_text(rest)
    for i in range(20):
        assert len(re.findall(rf"END{i}\b", whole)) == 1, i
    assert "tokens in" in thread_text(rest[-1:])
    assert feedback_buttons(rest[-1].blocks)
    errors = [c for c in fake_slack.calls if not c.response.get("ok")]
    assert errors == []


async def test_an_empty_dm_gets_a_hint_and_starts_nothing(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    await world.dm("   ")
    await eventually(lambda: bool(fake_slack.ephemeral))
    assert fake_slack.ephemeral[0][2] == notes.DM_USAGE_HINT
    assert fake_claude.calls == []


async def test_a_mention_in_a_channel_still_uses_the_thread_and_plan_message(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_claude.respond_plan(simple_plan("Research the goal."))
    _, ts = await world.mention("<@UBOT> compare three databases")
    await eventually(lambda: "tokens in" in thread_text(fake_slack.thread("C1", ts)))
    await eventually(lambda: not world.deps.runs.running)
    assert fake_slack.streams == []
    assert fake_slack.calls_to("assistant.threads.setStatus") == []
    assert "*s1*" in fake_slack.thread("C1", ts)[1].visible_text()  # the plan message


async def test_a_dm_run_paused_for_a_restart_resumes_in_its_thread(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig, tmp_path: Path
) -> None:
    store = await RunStore.open(f"sqlite:///{tmp_path / 'orchestra.db'}")
    latency = {"s": 30.0}
    fake_claude.respond("subagent", lambda c: Reply(text="Result", latency=latency["s"]))
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    async with running_world(fake_slack, AnthropicLLM(client), config, store=store) as world:
        _, ts = await world.dm("survive a restart")
        await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
        await eventually(lambda: bool(fake_slack.streams_in(DM, ts)))
        await world.deps.runs.shutdown(timeout_s=5)
    paused = only_stream(fake_slack, ts)
    assert paused.state == "stopped"
    assert notes.PAUSED in paused.text
    assert paused.plan_title == "Paused for a restart."
    assert fake_slack.status(DM, ts) == ""
    [stored] = await store.recent_runs(requester="U1", limit=5)
    assert stored.status == "paused"
    latency["s"] = 0.0
    async with running_world(fake_slack, AnthropicLLM(client), config, store=store) as world:
        await eventually(lambda: len(fake_slack.streams_in(DM, ts)) == 2, within=20)
        await eventually(lambda: fake_slack.streams_in(DM, ts)[1].state == "stopped", within=20)
    await client.close()
    await store.close()
    resumed = fake_slack.streams_in(DM, ts)[1]
    assert "Integrated answer from the fake." in resumed.text
    assert "Resumed after a restart" in thread_text(fake_slack.thread(DM, ts))
    assert len(fake_claude.calls_for("orchestrator")) == 1  # its plan was reused


async def test_only_the_requesters_stop_cancels(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    slow_subagents(fake_claude, 1.5)
    _, ts = await world.dm("mine", user="U5")
    await eventually(lambda: bool(fake_slack.streams_in(DM, ts)))
    body, kind = signing.agent_session_stopped(user="U6", channel=DM, thread_ts=ts)
    await world.post_signed(body, kind)
    await eventually(lambda: bool(fake_slack.ephemeral))
    assert "Only <@U5>" in fake_slack.ephemeral[0][2]
    await run_over(world, fake_claude)
    assert "Integrated answer from the fake." in only_stream(fake_slack, ts).text


@pytest.mark.slow
async def test_a_retried_answer_that_differs_replaces_what_was_streamed(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    drafts = ["A first draft that will be cut off half way. " * 20, "The final answer. " * 20]
    fake_claude.respond("integrator", lambda c: Reply(text=drafts[min(c.index, 1)], latency=1.5))
    fake_claude.inject(Fault(role="integrator", truncate_stream=True))
    _, ts = await world.dm("a retried answer")
    await run_over(world, fake_claude)
    assert len(fake_claude.calls_for("integrator")) == 2
    stream = only_stream(fake_slack, ts)
    assert "first draft" in stream.text  # it was streamed, then replaced
    message = fake_slack.find(DM, stream.ts)
    assert message is not None
    shown = message.visible_text()
    assert "first draft" not in shown
    assert drafts[1].strip() in shown
    assert "tokens in" in shown


async def test_feedback_is_thanked_for_and_other_dm_events_start_nothing(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    _, ts = await world.dm("rate me")
    await run_over(world, fake_claude)
    stream = only_stream(fake_slack, ts)
    [buttons] = feedback_buttons(stream.blocks)
    value = buttons["positive_button"]["value"]
    response = await world.click(
        FEEDBACK_ACTION, value, message_ts=stream.ts, thread_ts=ts, channel=DM
    )
    assert response.status == 200
    await eventually(lambda: bool(fake_slack.ephemeral))
    assert fake_slack.ephemeral[-1][2] == notes.FEEDBACK_THANKS
    edited = {"type": "message", "subtype": "message_changed", "channel": DM, "channel_type": "im"}
    body, kind = signing.event_callback({**edited, "ts": ts, "event_ts": ts})
    assert (await world.post_signed(body, kind)).status == 200
    own = {"type": "message", "channel": DM, "channel_type": "im", "bot_id": "B0BOT"}
    body, kind = signing.event_callback({**own, "text": "hi", "ts": stream.ts, "user": "UBOT"})
    assert (await world.post_signed(body, kind)).status == 200
    assert len(fake_claude.calls_for("orchestrator")) == 1


async def test_a_queued_dm_run_says_so_in_its_status_then_plans(
    fake_slack: FakeSlack, fake_claude: FakeAnthropic, config: PipelineConfig
) -> None:
    client = make_client(fake_claude.api_key, fake_claude.base_url, 5)
    settings = world_settings(fake_slack, max_live_runs=1)
    slow_subagents(fake_claude, 30)
    async with running_world(fake_slack, AnthropicLLM(client), config, settings) as world:
        _, first = await world.dm("first", user="U1", channel="D1")
        await eventually(lambda: len(fake_claude.calls_for("subagent")) == 3)
        _, second = await world.dm("second", user="U2", channel="D2")
        await eventually(lambda: fake_slack.status("D2", second) == notes.queued(0))
        assert fake_slack.session_status("D2", second) == "processing"  # Stop while queued
        slow_subagents(fake_claude, 0)
        await world.stop_button(thread_ts=first, user="U1", channel="D1")
        await eventually(lambda: fake_slack.status_history("D2", second)[-1:] == [""], within=20)
        await run_over(world, fake_claude, runs=2)
    await client.close()
    assert fake_slack.status_history("D2", second)[:2] == [notes.queued(0), notes.PLANNING_STATUS]
    [answered] = fake_slack.streams_in("D2", second)
    assert "Integrated answer from the fake." in answered.text


async def test_a_stream_slack_will_not_start_ends_as_ordinary_replies(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    fake_slack.fail("chat.startStream", error="channel_type_not_supported", times=None)
    _, ts = await world.dm("no streaming here")
    await run_over(world, fake_claude)
    assert fake_slack.streams_in(DM, ts) == []
    replies = fake_slack.thread(DM, ts)[1:]
    assert "Integrated answer from the fake." in thread_text(replies)
    assert "tokens in" in thread_text(replies)
    assert feedback_buttons(replies[-1].blocks)
    assert fake_slack.status(DM, ts) == ""


async def test_a_stream_that_will_not_stop_still_delivers_the_answer(
    world: World, fake_slack: FakeSlack, fake_claude: FakeAnthropic
) -> None:
    # Slack refuses the stop, and an edit of a message still streaming too
    # (streaming_state_conflict): the answer goes below it as ordinary replies.
    fake_slack.fail("chat.stopStream", error="messaging_processing_failed", times=None)
    _, ts = await world.dm("stubborn stream")
    await run_over(world, fake_claude)
    stream = only_stream(fake_slack, ts)
    replies = [m for m in fake_slack.thread(DM, ts)[1:] if m.ts != stream.ts]
    assert "Integrated answer from the fake." in thread_text(replies)
    assert "tokens in" in thread_text(replies)
    assert fake_slack.status(DM, ts) == ""
