"""What a streamed message holds and may hold next (pure): whole words of the answer, only
ever extending what is shown, within the message's limit, cut between paragraphs (a code
block closed and reopened) when the answer is too long; task updates that show every state."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.render import text as text_sizes
from bot.render.stream_text import SOFT_ROOM, PlanUpdates, StreamedText


def grow(text: StreamedText, answer: str, overhead: int = 0, step: int = 50) -> None:
    """Show `answer` as a stream would while it is written, `step` characters at a time."""
    for end in range(step, len(answer) + step, step):
        piece = text.next_piece(answer[:end], overhead)
        if piece is not None:
            text.show(piece)


def test_only_whole_words_are_shown_and_the_rest_follows() -> None:
    text = StreamedText()
    piece = text.next_piece("The answer is wri", 0)
    assert piece == ("The answer is ", len("The answer is "))
    text.show(piece)
    assert text.next_piece("The answer is wri", 0) is None  # nothing new yet
    piece = text.next_piece("The answer is written. ", 0)
    assert piece is not None
    assert piece[0] == "The answer is written. "


def test_shown_text_is_made_safe() -> None:
    text = StreamedText()
    piece = text.next_piece("Hello <!channel> and [docs](https://evil.example/x) then ", 0)
    assert piece is not None
    assert "<!channel>" not in piece[0]
    assert "(evil.example)" in piece[0]


def test_an_answer_that_starts_over_is_held_not_streamed_twice() -> None:
    text = StreamedText()
    text.show(text.next_piece("First try of the answer ", 0) or ("", 0))
    assert text.next_piece("Second try, which is longer than the first ", 0) is None
    assert text.held
    assert text.next_piece("First try of the answer and more ", 0) is None


def test_near_the_limit_it_grows_by_paragraphs_and_cuts_between_them() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 150 + f"END{i}" for i in range(20)]
    answer = "\n\n".join(paragraphs)
    text = StreamedText()
    grow(text, answer)
    assert text.held
    assert text.shown.endswith("\n\n")  # it stopped between two paragraphs
    assert len(text.shown.encode()) <= text_sizes.STREAM_BUDGET
    assert len(text.shown.encode()) > text_sizes.STREAM_BUDGET - SOFT_ROOM - 1000
    cut = text.cut(answer, len(answer), 0)
    assert cut is not None
    assert cut.at == text.shown_raw
    assert cut.part(answer) == text.shown
    rest = cut.rest(answer, len(answer))
    assert answer[: cut.at] + rest == answer


def test_a_code_block_open_at_the_cut_is_closed_and_reopened() -> None:
    answer = "Intro:\n```python\n" + "x = 1\n" * 3000 + "```\nDone."
    text = StreamedText()
    cut = text.cut(answer, len(answer), 0)
    assert cut is not None
    assert cut.fence is not None
    assert cut.part(answer).endswith("\n```")
    assert cut.rest(answer, len(answer)).startswith("```python\n")
    assert len(cut.part(answer).encode()) <= text_sizes.STREAM_BUDGET


def test_nothing_shown_and_no_break_that_fits_is_no_cut() -> None:
    assert StreamedText().cut("x" * 50_000, 50_000, 0) is None


@given(st.text(alphabet=st.sampled_from(["a", " ", "\n", "é", "`", "<", "@", "[", "]"])))
def test_what_is_shown_only_grows_and_always_fits(answer: str) -> None:
    text = StreamedText()
    previous = ""
    for end in range(0, len(answer) + 1, 7):
        piece = text.next_piece(answer[:end], 9_000)
        if piece is not None:
            text.show(piece)
        assert text.shown.startswith(previous)
        assert 9_000 + len(text.shown.encode()) <= text_sizes.STREAM_BUDGET
        previous = text.shown


def chunk(task_id: str, status: str, details: str = "") -> dict[str, str]:
    return {
        "type": "task_update",
        "id": task_id,
        "title": task_id,
        "status": status,
        **({"details": details} if details else {}),
    }


def test_every_status_a_task_went_through_is_sent_once_with_its_latest_details() -> None:
    plan = PlanUpdates()
    plan.title = "Researching"
    assert plan.task(chunk("s1", "pending"))
    assert plan.task(chunk("s2", "pending"))
    assert plan.task(chunk("s1", "in_progress"))
    assert plan.task(chunk("s1", "in_progress", "retrying in 2s"))
    assert not plan.task(chunk("s1", "in_progress", "retrying in 2s"))  # no change
    chunks, done = plan.take()
    assert [
        c.get("title") if c["type"] == "plan_update" else (c["id"], c["status"]) for c in chunks
    ] == [
        "Researching",
        ("s1", "pending"),
        ("s2", "pending"),
        ("s1", "in_progress"),
    ]
    assert chunks[-1]["details"] == "retrying in 2s"
    done(True)
    assert not plan.pending
    assert plan.take()[0] == []  # the title was sent, nothing else changed


def test_an_update_being_sent_is_not_replaced_and_a_failed_send_is_kept() -> None:
    plan = PlanUpdates()
    plan.task(chunk("s1", "in_progress"))
    _, done = plan.take()
    plan.task(chunk("s1", "in_progress", "retrying"))  # arrives while the call is out
    done(True)
    later, done_later = plan.take()
    assert later == [chunk("s1", "in_progress", "retrying")]
    done_later(False)
    assert plan.pending
    assert plan.take()[0] == later


def test_a_refused_write_goes_one_chunk_at_a_time_and_the_bad_one_is_shortened_then_dropped() -> (
    None
):
    plan = PlanUpdates()
    plan.title = "Researching"
    bad = {**chunk("s2", "complete", "d" * 200), "sources": [{"type": "url", "url": "x"}]}
    for update in (chunk("s1", "complete"), bad, chunk("s3", "complete")):
        plan.task(update)
    first, done = plan.take()
    assert len(first) == 4
    plan.refused()  # Slack refused the write: which chunk it disliked is unknown
    done(False)
    sent: list[dict[str, object]] = []
    for _ in range(10):  # Slack refuses s2 whatever its shape
        batch, done = plan.take()
        if not batch:
            break
        assert len(batch) == 1
        if batch[0].get("id") == "s2":
            sent.append(batch[0])
            plan.refused()
            done(False)
        else:
            done(True)
    assert [c.get("sources") for c in sent] == [[{"type": "url", "url": "x"}], None]
    assert len(str(sent[1]["details"])) <= text_sizes.STREAM_SHORT_CHARS
    assert not plan.pending
    assert not plan.isolating
    assert plan.sent_title == "Researching"  # the title went alone, and was taken
    plan.task(chunk("s2", "error", "later"))
    assert plan.take()[0] == [chunk("s2", "error", "later")]  # later updates go as usual


def test_the_end_takes_every_unsent_chunk_even_while_isolating() -> None:
    plan = PlanUpdates()
    plan.task(chunk("s1", "complete"))
    plan.task(chunk("s2", "complete"))
    _, done = plan.take()
    plan.refused()
    done(False)
    assert len(plan.take()[0]) == 1
    assert len(plan.take(whole=True)[0]) == 2


def test_a_write_whose_answer_was_lost_leaves_the_text_unsure() -> None:
    text = StreamedText()
    text.show(("Some words ", 11))
    text.lost()
    assert text.held
    assert not text.extends("Some words and more")  # the end replaces the message
