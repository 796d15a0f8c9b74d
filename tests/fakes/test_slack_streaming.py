"""The fake Slack speaks Slack's native AI streaming (chat.startStream / appendStream /
stopStream) and assistant-thread methods as documented, driven here by the real
`AsyncWebClient` and its `chat_stream` helper over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from slack_bolt.request.payload_utils import is_user_message_event_in_assistant_thread
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ContextActionsBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
)
from slack_sdk.models.messages.chunk import MarkdownTextChunk, PlanUpdateChunk, TaskUpdateChunk
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.fakes import signing
from sandbox.fakes.slack import FakeSlack
from sandbox.fakes.slack_limits import STREAM_MARKDOWN_TEXT

DM = "D1"
FEEDBACK = [
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "good", "text": {"type": "plain_text", "text": "Good"}}
        ],
    }
]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


@pytest.fixture
def question(slack: FakeSlack) -> str:
    """A person's message in their DM with the app: the thread a stream replies in."""
    return slack.add_user_message(DM, "U1", "What changed in the EU AI Act?")


async def error_of(call: Awaitable[object]) -> str:
    try:
        await call
    except SlackApiError as exc:
        return str(exc.response["error"])
    return "ok"


async def test_a_stream_starts_grows_and_stops_and_the_thread_shows_its_text(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    started = await client.chat_startStream(channel=DM, thread_ts=question, markdown_text="The ")
    ts = str(started["ts"])
    await client.chat_appendStream(channel=DM, ts=ts, markdown_text="answer ")
    mid = await client.conversations_replies(channel=DM, ts=question)
    assert [m["text"] for m in mid["messages"]] == ["What changed in the EU AI Act?", "The answer "]
    stopped = await client.chat_stopStream(
        channel=DM, ts=ts, markdown_text="is short.", blocks=FEEDBACK
    )
    assert stopped["message"]["text"] == "The answer is short."
    stream = slack.stream(DM, ts)
    assert stream is not None
    assert (stream.state, stream.text, stream.blocks) == (
        "stopped",
        "The answer is short.",
        FEEDBACK,
    )
    assert [w.method for w in stream.writes] == [
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    ]
    reply = slack.thread(DM, question)[1]
    assert reply.visible_text() == "The answer is short.\nGood"
    assert reply.thread_ts == question


async def test_the_sdk_chat_stream_helper_streams_through_the_fake(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    streamer = await client.chat_stream(channel=DM, thread_ts=question, buffer_size=10)
    for word in ["Streaming ", "works ", "through ", "the ", "fake."]:
        await streamer.append(markdown_text=word)
    await streamer.stop(blocks=FEEDBACK)
    [stream] = slack.streams_in(DM, question)
    assert stream.ts == streamer.ts
    assert stream.text == "Streaming works through the fake."
    assert stream.state == "stopped"
    assert slack.counts_by_method() == {
        "chat.startStream": 1,
        "chat.appendStream": 1,
        "chat.stopStream": 1,
    }


async def test_every_task_update_is_recorded_with_the_plan(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    started = await client.chat_startStream(
        channel=DM,
        thread_ts=question,
        task_display_mode="plan",
        chunks=[
            PlanUpdateChunk(title="Researching the EU AI Act"),
            TaskUpdateChunk(id="t1", title="Find the final text", status="pending"),
            TaskUpdateChunk(id="t2", title="Summarise obligations", status="pending"),
        ],
    )
    ts = str(started["ts"])
    for chunks in (
        [TaskUpdateChunk(id="t1", title="Find the final text", status="in_progress")],
        [
            TaskUpdateChunk(
                id="t1",
                title="Find the final text",
                status="complete",
                output="Regulation (EU) 2024/1689",
                sources=[{"type": "url", "url": "https://eur-lex.europa.eu/", "text": "EUR-Lex"}],
            ),
            TaskUpdateChunk(id="t2", title="Summarise obligations", status="error", details="x"),
        ],
    ):
        await client.chat_appendStream(channel=DM, ts=ts, chunks=chunks)
    await client.chat_stopStream(channel=DM, ts=ts, chunks=[MarkdownTextChunk(text="Done.")])
    stream = slack.stream(DM, ts)
    assert stream is not None
    assert stream.task_display_mode == "plan"
    assert stream.plan_title == "Researching the EU AI Act"
    assert stream.task_states("t1") == ["pending", "in_progress", "complete"]
    assert stream.task_states("t2") == ["pending", "error"]
    assert stream.tasks["t1"]["output"] == "Regulation (EU) 2024/1689"
    assert stream.tasks["t1"]["sources"][0]["url"] == "https://eur-lex.europa.eu/"
    assert list(stream.tasks) == ["t1", "t2"]
    assert stream.text == "Done."
    shown = slack.thread(DM, question)[1].visible_text()
    assert "Find the final text [complete]" in shown
    assert "Summarise obligations [error]" in shown


async def test_each_write_is_logged_with_its_time_on_the_fake_clock(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    asked = slack.now()
    started = await client.chat_startStream(
        channel=DM,
        thread_ts=question,
        chunks=[TaskUpdateChunk(id="t1", title="Plan", status="in_progress")],
    )
    await asyncio.sleep(0.05)
    await client.chat_appendStream(channel=DM, ts=str(started["ts"]), markdown_text="First words")
    stream = slack.stream(DM, str(started["ts"]))
    assert stream is not None
    first, second = stream.writes
    assert asked <= stream.started_at == first.at < second.at <= slack.now()
    assert first.markdown_text == ""
    assert stream.first_text_at == second.at
    assert stream.first_text_at - asked < 1.5


async def test_an_idle_stream_leaves_streaming_state_and_then_only_chat_update_works(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    slack.stream_idle_s = 0.5
    started = await client.chat_startStream(channel=DM, thread_ts=question, markdown_text="Part")
    ts = str(started["ts"])
    conflict = client.chat_update(channel=DM, ts=ts, text="too early")
    assert await error_of(conflict) == "streaming_state_conflict"
    await asyncio.sleep(0.6)
    stream = slack.stream(DM, ts)
    assert stream is not None
    assert stream.state == "expired"
    assert stream.ended_at == pytest.approx(stream.started_at + 0.5)
    append = client.chat_appendStream(channel=DM, ts=ts, markdown_text=" two")
    assert await error_of(append) == "message_not_in_streaming_state"
    stop = client.chat_stopStream(channel=DM, ts=ts, markdown_text=" two")
    assert await error_of(stop) == "message_not_in_streaming_state"
    await client.chat_update(channel=DM, ts=ts, text="Part two, by the fallback")
    assert slack.thread(DM, question)[1].visible_text() == "Part two, by the fallback"
    assert stream.text == "Part"  # the record of what was streamed stays


async def test_a_stream_ends_at_its_maximum_age_even_while_appends_flow(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    started = await client.chat_startStream(channel=DM, thread_ts=question, markdown_text="a")
    ts = str(started["ts"])
    for _ in range(3):
        slack.advance(99)  # each gap well under the idle expiry
        await client.chat_appendStream(channel=DM, ts=ts, markdown_text="b")
    slack.advance(4)  # 301 s after the start
    append = client.chat_appendStream(channel=DM, ts=ts, markdown_text="c")
    assert await error_of(append) == "message_not_in_streaming_state"
    await client.chat_update(channel=DM, ts=ts, text="abbbc")


async def test_stopping_twice_or_a_posted_message_is_not_in_streaming_state(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    started = await client.chat_startStream(channel=DM, thread_ts=question, markdown_text="x")
    await client.chat_stopStream(channel=DM, ts=str(started["ts"]))
    again = client.chat_stopStream(channel=DM, ts=str(started["ts"]))
    assert await error_of(again) == "message_not_in_streaming_state"
    posted = await client.chat_postMessage(channel=DM, text="plain", thread_ts=question)
    append = client.chat_appendStream(channel=DM, ts=str(posted["ts"]), markdown_text="y")
    assert await error_of(append) == "message_not_in_streaming_state"
    theirs = client.chat_appendStream(channel=DM, ts=question, markdown_text="y")
    assert await error_of(theirs) == "message_not_owned_by_app"
    unknown = client.chat_appendStream(channel=DM, ts="1.000001", markdown_text="y")
    assert await error_of(unknown) == "message_not_found"


async def test_markdown_text_is_limited_per_call_and_per_message(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    over = "x" * (STREAM_MARKDOWN_TEXT + 1)
    start = client.chat_startStream(channel=DM, thread_ts=question, markdown_text=over)
    assert await error_of(start) == "msg_too_long"
    started = await client.chat_startStream(channel=DM, thread_ts=question)
    ts = str(started["ts"])
    as_chunk = client.chat_appendStream(
        channel=DM, ts=ts, chunks=[{"type": "markdown_text", "text": over}]
    )
    assert await error_of(as_chunk) == "msg_too_long"
    slack.stream_text_limit = 1000
    await client.chat_appendStream(channel=DM, ts=ts, markdown_text="y" * 600)
    too_much = client.chat_appendStream(channel=DM, ts=ts, markdown_text="z" * 401)
    assert await error_of(too_much) == "msg_too_long"
    await client.chat_appendStream(channel=DM, ts=ts, markdown_text="z" * 400)
    stream = slack.stream(DM, ts)
    assert stream is not None
    assert (stream.state, len(stream.text)) == ("streaming", 1000)


@pytest.mark.parametrize(
    ("method", "args", "error"),
    [
        ("chat.startStream", {"thread_ts": "1.1"}, "channel_not_found"),
        ("chat.startStream", {"channel": DM}, "invalid_arguments"),
        ("chat.startStream", {"channel": "C1", "thread_ts": "1.1"}, "missing_recipient_team_id"),
        (
            "chat.startStream",
            {"channel": "C1", "thread_ts": "1.1", "recipient_team_id": "T0TEAM"},
            "missing_recipient_user_id",
        ),
        (
            "chat.startStream",
            {"channel": DM, "thread_ts": "1.1", "task_display_mode": "dense"},
            "invalid_arguments",
        ),
        (
            "chat.startStream",
            {"channel": DM, "thread_ts": "1.1", "chunks": [{"type": "task_update", "id": "t"}]},
            "invalid_chunks",
        ),
        (
            "chat.startStream",
            {
                "channel": DM,
                "thread_ts": "1.1",
                "chunks": [{"type": "task_update", "id": "t", "title": "T", "status": "done"}],
            },
            "invalid_chunks",
        ),
        (
            "chat.startStream",
            {"channel": DM, "thread_ts": "1.1", "chunks": [{"type": "x"}]},
            "invalid_chunks",
        ),
        ("chat.appendStream", {"channel": DM, "markdown_text": "x"}, "invalid_arguments"),
        ("chat.stopStream", {"ts": "1.1"}, "channel_not_found"),
        ("assistant.threads.setStatus", {"thread_ts": "1.1", "status": "x"}, "channel_not_found"),
        ("assistant.threads.setStatus", {"channel_id": DM, "status": "x"}, "invalid_arguments"),
        (
            "assistant.threads.setStatus",
            {"channel_id": DM, "thread_ts": "9.9", "status": "x"},
            "invalid_thread_ts",
        ),
        (
            "assistant.threads.setTitle",
            {"channel_id": DM, "thread_ts": "9.9", "title": "x"},
            "invalid_thread_ts",
        ),
        ("assistant.threads.setSuggestedPrompts", {"channel_id": DM}, "invalid_arguments"),
    ],
)
async def test_missing_or_malformed_arguments_get_slacks_documented_errors(
    client: AsyncWebClient, method: str, args: dict[str, Any], error: str
) -> None:
    assert await error_of(client.api_call(method, json=args)) == error


async def test_appends_need_text_and_channels_need_the_bot(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    started = await client.chat_startStream(channel=DM, thread_ts=question)
    ts = str(started["ts"])
    assert await error_of(client.chat_appendStream(channel=DM, ts=ts)) == "no_text"
    slack.remove_bot("C2")
    in_channel = client.chat_startStream(
        channel="C2", thread_ts="1.1", recipient_team_id="T0TEAM", recipient_user_id="U1"
    )
    assert await error_of(in_channel) == "not_in_channel"
    slack.add_bot("C2")
    root = slack.add_user_message("C2", "U1", "<@UBOT> research this")
    streamed = await client.chat_startStream(
        channel="C2", thread_ts=root, recipient_team_id="T0TEAM", recipient_user_id="U1"
    )
    stream = slack.stream("C2", str(streamed["ts"]))
    assert stream is not None
    assert stream.recipient_user_id == "U1"


async def test_strict_limits_answer_a_burst_of_stream_calls_with_429_and_retry_after(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    slack.strict_rate_limits = True
    statuses: list[int] = []
    retry_after: list[str] = []
    for _ in range(8):  # Tier 2: a short burst, then 20 a minute
        try:
            started = await client.chat_startStream(channel=DM, thread_ts=question)
            statuses.append(started.status_code)
        except SlackApiError as exc:
            statuses.append(exc.response.status_code)
            retry_after.append(exc.response.headers["Retry-After"])
    assert statuses[0] == 200
    assert 429 in statuses
    assert all(int(seconds) >= 1 for seconds in retry_after)
    ts = slack.streams[0].ts
    appended = [
        await error_of(client.chat_appendStream(channel=DM, ts=ts, markdown_text="."))
        for _ in range(20)
    ]
    assert appended[0] == "ok"
    assert "ratelimited" in appended  # Tier 4 lets more through, but not 20 at once
    assert slack.rate_limited["chat.appendStream"] == appended.count("ratelimited")


async def test_injected_faults_must_be_documented_for_the_stream_method(slack: FakeSlack) -> None:
    slack.fail("chat.appendStream", error="message_not_in_streaming_state")
    slack.fail("chat.appendStream", error="stopped_by_user")
    slack.fail("chat.stopStream", status=429, error="ratelimited", retry_after=1)
    slack.fail("assistant.threads.setStatus", error="invalid_thread_ts")
    with pytest.raises(ValueError, match="not a fault Slack can answer"):
        slack.fail("chat.startStream", error="message_not_in_streaming_state")
    with pytest.raises(ValueError, match="not a fault Slack can answer"):
        slack.fail("assistant.threads.setTitle", error="not_in_channel")


async def test_an_injected_fault_reaches_the_sdk(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    started = await client.chat_startStream(channel=DM, thread_ts=question)
    slack.fail("chat.appendStream", error="messaging_processing_failed")
    append = client.chat_appendStream(channel=DM, ts=str(started["ts"]), markdown_text="x")
    assert await error_of(append) == "messaging_processing_failed"
    await client.chat_appendStream(channel=DM, ts=str(started["ts"]), markdown_text="x")


# --- assistant threads --------------------------------------------------------------------


async def test_a_status_is_set_then_cleared(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    await client.assistant_threads_setStatus(
        channel_id=DM,
        thread_ts=question,
        status="is planning...",
        loading_messages=["Reading the question", "Planning subtasks"],
    )
    assert slack.status(DM, question) == "is planning..."
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=question, status="")
    assert slack.status_history(DM, question) == ["is planning...", ""]
    changes = slack.status_changes(DM, question)
    assert [c.cause for c in changes] == ["set", "cleared"]
    assert changes[0].loading_messages == ("Reading the question", "Planning subtasks")
    too_many = client.assistant_threads_setStatus(
        channel_id=DM, thread_ts=question, status="x", loading_messages=["m"] * 11
    )
    assert await error_of(too_many) == "invalid_arguments"


async def test_a_reply_in_the_thread_clears_the_status(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=question, status="is busy")
    await client.chat_startStream(channel=DM, thread_ts=question, markdown_text="Hi")
    assert slack.status_history(DM, question) == ["is busy", ""]
    assert slack.status_changes(DM, question)[-1].cause == "reply"
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=question, status="again")
    await client.chat_postMessage(channel=DM, thread_ts=question, text="posted reply")
    assert slack.status_history(DM, question) == ["is busy", "", "again", ""]


async def test_a_status_left_two_minutes_without_a_message_times_out(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=question, status="is slow")
    slack.advance(119)
    assert slack.status(DM, question) == "is slow"
    slack.advance(2)
    assert slack.status(DM, question) == ""
    assert slack.status_changes(DM, question)[-1].cause == "timeout"


async def test_suggested_prompts_belong_to_the_dm_and_a_title_to_a_thread(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    prompts = [{"title": "Compare", "message": "Compare the two drafts"}]
    await client.assistant_threads_setSuggestedPrompts(channel_id=DM, prompts=prompts, title="Try")
    await client.assistant_threads_setTitle(channel_id=DM, thread_ts=question, title="EU AI Act")
    assert slack.suggested_prompts[(DM, "")].prompts == tuple(prompts)
    assert slack.suggested_prompts[(DM, "")].title == "Try"
    assert slack.titles[(DM, question)] == "EU AI Act"
    five = client.assistant_threads_setSuggestedPrompts(channel_id=DM, prompts=prompts * 5)
    assert await error_of(five) == "invalid_arguments"
    # Agent view: with a thread_ts the call "will silently fail": ok, and nothing shown.
    other = [{"title": "Other", "message": "Something else"}]
    await client.assistant_threads_setSuggestedPrompts(
        channel_id=DM, thread_ts=question, prompts=other
    )
    assert (DM, question) not in slack.suggested_prompts
    assert slack.suggested_prompts[(DM, "")].prompts == tuple(prompts)


async def test_live_views_hear_of_every_stream_write_status_prompt_and_stop(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    changes = slack.subscribe()
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=question, status="is busy")
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=question, status="")
    await client.assistant_threads_setTitle(channel_id=DM, thread_ts=question, title="EU AI Act")
    started = await client.chat_startStream(channel=DM, thread_ts=question, markdown_text="A")
    ts = str(started["ts"])
    await client.chat_appendStream(channel=DM, ts=ts, markdown_text="B")
    slack.user_stops(DM, question, "U1")
    await client.chat_stopStream(channel=DM, ts=ts)
    seen = [changes.get_nowait() for _ in range(changes.qsize())]
    slack.unsubscribe(changes)
    assert [(c.kind, c.ts) for c in seen] == [
        ("status", question),
        ("session", question),  # a status line shows the agent at work: processing
        ("status", question),  # cleared, but the session stays processing
        ("title", question),
        ("posted", ts),
        ("updated", ts),
        ("updated", ts),  # the stop button
        ("updated", ts),
        ("session", question),  # the app's stop moved it off processing
    ]
    assert {(c.channel, c.thread_ts) for c in seen} == {(DM, question)}


# --- the stop button and the events Slack sends ------------------------------------------


async def test_the_stop_button_stops_live_streams_and_the_app_may_still_stop_them(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    started = await client.chat_startStream(channel=DM, thread_ts=question, markdown_text="Work")
    ts = str(started["ts"])
    assert slack.user_stops(DM, question, "U1") == [ts]
    append = client.chat_appendStream(channel=DM, ts=ts, markdown_text=" more")
    assert await error_of(append) == "stopped_by_user"
    await client.chat_stopStream(channel=DM, ts=ts, markdown_text=" (stopped)")
    stream = slack.stream(DM, ts)
    assert stream is not None
    assert (stream.state, stream.stopped_by, stream.text) == ("stopped", "U1", "Work (stopped)")
    assert slack.user_stops(DM, question, "U1") == []
    body, kind = signing.agent_session_stopped(
        user="U1", channel=DM, thread_ts=question, streaming_message_ts=[ts]
    )
    event = json.loads(body)["event"]
    assert kind == "application/json"
    assert event == {
        "type": "agent_session_stopped",
        "user": "U1",
        "channel": DM,
        "thread_ts": question,
        "streaming_message_ts": [ts],
        "event_ts": event["event_ts"],
    }


def test_dm_events_are_what_bolt_recognises_and_opening_the_dm_is_app_home_opened() -> None:
    body, _ = signing.dm_message(text="hi", user="U1", channel=DM, ts="2.2", thread_ts="1.1")
    dm = json.loads(body)
    assert dm["type"] == "event_callback"
    assert dm["event"]["channel_type"] == "im"
    assert is_user_message_event_in_assistant_thread(dm)
    body, _ = signing.dm_message(text="hi", user="U1", channel=DM, ts="2.2")
    assert not is_user_message_event_in_assistant_thread(json.loads(body))
    # Agent view: no assistant_thread_started; opening the DM is app_home_opened, tab messages.
    body, _ = signing.home_opened(user="U1", tab="messages", channel=DM)
    opened = json.loads(body)["event"]
    assert (opened["type"], opened["tab"], opened["channel"], opened["user"]) == (
        "app_home_opened",
        "messages",
        DM,
        "U1",
    )


async def test_feedback_buttons_are_taken_at_stop_and_malformed_ones_refused(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    feedback = ContextActionsBlock(
        elements=[
            FeedbackButtonsElement(
                action_id="feedback",
                positive_button=FeedbackButtonObject(text="Good", value="good"),
                negative_button=FeedbackButtonObject(text="Bad", value="bad"),
            )
        ]
    ).to_dict()
    ts = str((await client.chat_startStream(channel=DM, thread_ts=question))["ts"])
    broken = {**feedback, "elements": [{"type": "button", "action_id": "x"}]}
    assert await error_of(client.chat_stopStream(channel=DM, ts=ts, blocks=[broken])) == (
        "invalid_blocks"
    )
    await client.chat_stopStream(channel=DM, ts=ts, markdown_text="Done.", blocks=[feedback])
    stream = slack.stream(DM, ts)
    assert stream is not None
    assert stream.blocks == [feedback]


# --- agent sessions ------------------------------------------------------------------------


async def test_a_session_stays_processing_until_a_stop_or_set_status_moves_it(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=question, status="is busy")
    assert slack.session_status(DM, question) == "processing"
    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=question, status="")
    assert slack.session_status(DM, question) == "processing"  # a cleared status is no end
    ts = str((await client.chat_startStream(channel=DM, thread_ts=question))["ts"])
    slack.advance(slack.stream_max_s or 0)
    await client.chat_update(channel=DM, ts=ts, text="edited after the stream's cap")
    assert slack.session_status(DM, question) == "processing"  # an edit is no end either
    answer = await client.agents_sessions_setStatus(
        channel_id=DM, thread_ts=question, status="active", title="ignored: not a creation"
    )
    assert (answer["status"], slack.session_status(DM, question)) == ("active", "active")
    session = slack.session(DM, question)
    assert session is not None
    assert session.history() == ["processing", "active"]
    assert session.title is None


async def test_a_successful_stop_ends_processing_and_slack_times_out_a_forgotten_one(
    slack: FakeSlack, client: AsyncWebClient, question: str
) -> None:
    created = await client.agents_sessions_setStatus(
        channel_id=DM, thread_ts=question, status="processing", title="EU AI Act"
    )
    assert created["title"] == "EU AI Act"
    ts = str((await client.chat_startStream(channel=DM, thread_ts=question))["ts"])
    await client.chat_stopStream(channel=DM, ts=ts, markdown_text="Done.")
    assert slack.session_status(DM, question) == "active"
    other = slack.add_user_message(DM, "U1", "And another thing?")
    await client.agents_sessions_setStatus(channel_id=DM, thread_ts=other, status="processing")
    assert [s.thread_ts for s in slack.sessions_processing()] == [other]
    slack.advance(slack.session_processing_s + 1)
    assert slack.sessions_processing() == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"channel_id": DM, "thread_ts": "1.1", "status": "thinking"}, "invalid_status"),
        ({"channel_id": DM, "status": "active"}, "thread_ts_required"),
        ({"channel_id": "C9", "thread_ts": "1.1", "status": "active"}, "not_authorized"),
        (
            {"channel_id": DM, "thread_ts": "1.1", "status": "processing", "title": "T" * 201},
            "invalid_arguments",
        ),
    ],
)
async def test_session_calls_slack_refuses_are_refused(
    slack: FakeSlack, client: AsyncWebClient, args: dict[str, Any], error: str
) -> None:
    slack.remove_bot("C9")
    assert await error_of(client.api_call("agents.sessions.setStatus", json=args)) == error


async def test_a_chunk_field_past_256_characters_is_refused(
    client: AsyncWebClient, question: str
) -> None:
    ts = str((await client.chat_startStream(channel=DM, thread_ts=question))["ts"])
    task = TaskUpdateChunk(id="t1", title="Search", status="in_progress", details="d" * 256)
    await client.chat_appendStream(channel=DM, ts=ts, chunks=[task])
    long = TaskUpdateChunk(id="t1", title="Search", status="complete", details="d" * 257)
    assert await error_of(client.chat_appendStream(channel=DM, ts=ts, chunks=[long])) == (
        "invalid_chunks"
    )
    plan = PlanUpdateChunk(title="P" * 257)
    assert await error_of(client.chat_appendStream(channel=DM, ts=ts, chunks=[plan])) == (
        "invalid_chunks"
    )
