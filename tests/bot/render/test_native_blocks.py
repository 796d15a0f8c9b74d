"""Pure rendering for Slack's native stream: task chunks, the plan's title, what a streamed
message shows, the closing blocks and the chat.update fallback, all within Slack's rules
(checked by the fake Slack's own validators)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.render import native as nb
from bot.render import notes
from bot.render import text as text_sizes
from bot.render.kit import SlackMessage, block_text_chars, message, section
from bot.render.text import MESSAGE_BLOCKS_BUDGET
from pipeline import Source, Usage
from pipeline.view import RunView, SubtaskView
from pipeline.words import CUT_AT_DEADLINE
from sandbox.fakes.slack_limits import STREAM_CHUNK_FIELD, block_errors
from sandbox.fakes.slack_streams import chunks_problem

WORD_JOINER = "\u2060"


def sub(state: str = "pending", **changes: object) -> SubtaskView:
    view = SubtaskView("s1", "Researcher of pricing")
    view.state = state  # type: ignore[assignment]  # each state the view can hold
    for name, value in changes.items():
        setattr(view, name, value)
    return view


def test_each_subtask_state_maps_to_a_task_status_slack_knows() -> None:
    expected = {
        "pending": "pending",
        "running": "in_progress",
        "retrying": "in_progress",
        "done": "complete",
        "failed": "error",
        "skipped": "error",
        "cancelled": "complete",  # stopped is no failure (Slack has no "stopped" status)
    }
    for state, status in expected.items():
        chunk = nb.task_chunk(sub(state, detail="why"))
        assert chunk["status"] == status, state
        assert chunk["type"] == "task_update"
        assert chunks_problem([chunk]) is None


def test_details_say_retries_timings_failures_and_web_use() -> None:
    retrying = nb.task_chunk(sub("retrying", detail="Claude is overloaded", attempt=1, wait_s=2))
    assert retrying["details"] == "retrying in 2s (attempt 1 failed: Claude is overloaded)"
    done = nb.task_chunk(
        sub("done", elapsed_s=1.25, usage=Usage(1000, 234), searches=2, sources=())
    )
    assert done["details"].startswith("done in 1.2s · 1,234 tokens")
    assert "2 searches" in done["details"]
    failed = nb.task_chunk(sub("failed", detail="Claude returned an error (500)."))
    assert failed["details"] == "failed: Claude returned an error (500)."
    assert "details" not in nb.task_chunk(sub("pending"))
    stopped = nb.task_chunk(sub("cancelled", started_at=1.0))
    assert stopped["details"] == notes.TASK_STOPPED
    assert nb.task_chunk(sub("cancelled"))["details"] == notes.TASK_NOT_STARTED


def test_sources_are_links_that_show_their_host_and_are_few() -> None:
    sources = tuple(
        Source(f"https://site{i}.example/page", f"Title {i}", "quote") for i in range(8)
    )
    bad = Source("javascript:alert(1)", "Click me", "")
    chunk = nb.task_chunk(sub("done", sources=(bad, *sources)))
    links = chunk["sources"]
    assert len(links) == nb.TASK_SOURCES
    assert all(link["type"] == "url" for link in links)
    assert links[0] == {
        "type": "url",
        "url": "https://site0.example/page",
        "text": "Title 0 (site0.example)",
    }
    long_title = nb.task_chunk(sub("done", sources=(Source("https://x.example", "T" * 500, ""),)))
    assert long_title["sources"][0]["text"].endswith("(x.example)")


def test_model_text_in_a_task_cannot_ping_or_link() -> None:
    chunk = nb.task_chunk(sub("failed", role="Ping <!channel> and @here", detail="<@U1|boss>"))
    assert "<!channel>" not in chunk["title"]
    assert f"@{WORD_JOINER}here" in chunk["title"]
    assert "<@U1" not in chunk["details"]


def test_the_plan_title_follows_the_run() -> None:
    view = RunView("r1", goal="compare   three\ndatabases")
    assert nb.plan_title(view) == notes.researching("compare three databases")
    view.phase = "integrating"
    assert nb.plan_title(view) == notes.PLAN_WRITING
    view.phase = "finished"
    view.subtasks = {"a": sub("done"), "b": sub("failed"), "c": sub("skipped")}
    assert nb.plan_title(view) == "Finished: 1 done, 1 failed, 1 skipped"
    view.subtasks = {"a": sub("done")}
    assert nb.plan_title(view) == "Finished: 1 done"
    view.subtasks = {"a": sub("done"), "b": sub("cancelled", detail=CUT_AT_DEADLINE)}
    assert nb.plan_title(view) == "Cut at the deadline: 1 done, 1 cut"
    view.phase = "cancelled"
    assert nb.plan_title(view, "Paused for a restart.") == "Paused for a restart."
    assert len(nb.plan_title(RunView("r", goal="x" * 5000))) <= text_sizes.STREAM_TITLE_CHARS


def test_shown_size_counts_what_slack_counts_in_bytes() -> None:
    task = nb.task_chunk(sub("failed", detail="boom"))
    size = nb.shown_size("Plan", [task], "héllo")
    plain = "\n".join(["Plan", f"{task['title']} [error]", task["details"], "héllo"])
    assert size == len(plain.encode()) > len(plain)


@given(st.text())
def test_only_whole_words_are_streamable(text: str) -> None:
    end = nb.streamable(text)
    assert 0 <= end <= len(text)
    assert end == 0 or text[end - 1].isspace()
    assert not any(c in " \n\t" for c in text[end:])


def test_feedback_buttons_are_blocks_slack_takes_and_name_the_run() -> None:
    block = nb.feedback_block("r-42")
    assert block_errors([block]) == []
    [buttons] = block["elements"]
    assert buttons["type"] == "feedback_buttons"
    assert buttons["action_id"] == nb.FEEDBACK_ACTION
    assert buttons["positive_button"]["value"] == "good:r-42"
    assert buttons["negative_button"]["value"] == "bad:r-42"
    closing = nb.closing_blocks(["note", "", "footer"], "r-42")
    # An answer's end: Download (.md) (and any follow-ups), then the feedback buttons.
    assert [b["type"] for b in closing] == ["context", "context", "actions", "context_actions"]
    assert nb.closing_blocks(["only a note"], None)[-1]["type"] == "context"


def test_feedback_goes_under_the_last_message_when_it_fits() -> None:
    small = [message("a", [section("a")]), message("b", [section("b")])]
    extended = nb.with_feedback(small, "r1")
    assert extended[0] == small[0]
    assert extended[1].blocks[-1]["type"] == "context_actions"
    full = SlackMessage("x", [section("x" * 2900).to_dict()] * 4)
    assert block_text_chars(full.blocks) > MESSAGE_BLOCKS_BUDGET - 20
    assert nb.with_feedback([full], "r1") == [full]
    assert nb.with_feedback([], "r1") == []


def test_the_fallback_shows_the_plan_and_the_answer_in_one_message_or_says_it_cannot() -> None:
    view = RunView("r1", goal="g")
    view.subtasks = {f"s{i}": sub("done", id=f"s{i}") for i in range(1, 4)}
    closing = nb.closing_blocks(["footer"], "r1")
    fallback = nb.fallback_message(view, "Finished: 3 done", "The **answer**.", closing)
    assert fallback is not None
    assert block_errors(fallback.blocks) == []
    kinds = [b["type"] for b in fallback.blocks]
    assert kinds == [
        "section",
        "section",
        "section",
        "section",
        "markdown",
        "context",
        "actions",
        "context_actions",
    ]
    assert fallback.blocks[-1]["type"] == "context_actions"
    assert nb.fallback_message(view, "t", "x" * 12_000) is None
    plan_only = nb.plan_only_message(view, "Finished: 3 done", notes.ANSWER_BELOW)
    assert block_errors(plan_only.blocks) == []
    assert notes.ANSWER_BELOW in str(plan_only.blocks)


def test_a_plan_of_many_subtasks_still_fits_as_plan_only() -> None:
    view = RunView("r1", goal="g")
    view.subtasks = {
        f"s{i}": sub("failed", id=f"s{i}", role="R" * 400, detail="D" * 400) for i in range(40)
    }
    plan_only = nb.plan_only_message(view, "Stopped", notes.ANSWER_BELOW)
    assert block_errors(plan_only.blocks) == []
    assert block_text_chars(plan_only.blocks) <= MESSAGE_BLOCKS_BUDGET


def test_task_details_stay_within_the_chunk_field_cap() -> None:
    long = "x " * 600
    for state in ("retrying", "failed", "skipped"):
        details = nb.task_chunk(sub(state, detail=long, attempt=3, wait_s=12))["details"]
        assert len(details) <= STREAM_CHUNK_FIELD
        assert chunks_problem([nb.task_chunk(sub(state, detail=long))]) is None


def test_a_refused_chunk_is_shortened_to_its_title_status_and_short_details() -> None:
    source = Source("https://example.com/a", "A source", "")
    chunk = nb.task_chunk(sub("done", sources=(source,), role="R" * 120))
    short = nb.shortened(chunk)
    assert set(short) <= {"type", "id", "title", "status", "details"}
    assert (short["id"], short["status"]) == ("s1", "complete")
    assert len(short["title"]) <= text_sizes.STREAM_SHORT_CHARS
    assert nb.shortened(nb.plan_chunk("P" * 150))["title"].endswith("…")


def test_the_thread_title_is_the_goal_made_inert_within_200_characters() -> None:
    assert nb.thread_title(RunView("r", goal="compare <!channel> databases")) == (
        f"compare <{WORD_JOINER}!channel> databases"
    )
    assert len(nb.thread_title(RunView("r", goal="<@U1> " * 100))) <= 200
