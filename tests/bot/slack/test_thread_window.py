"""Finding a thread's newest messages in few `conversations.replies` calls (issue 19.12),
against a model of Slack's paging as its reference page states it (oldest first, the parent
first on every first page and counted in `limit`, `oldest`/`latest` with `inclusive`, pages
capped at 1,000, or 15 outside the Marketplace): for any pace of thread, the result is the
newest messages before the point whenever the reading ends by itself, in one call for a
thread that fits a page and two for one of even pace, however long."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.thread_window import Call, NewestMessages, micros, slack_ts

START = 1_700_000_000_000_000  # microseconds
MAX_CALLS = 8


class Thread:
    """A thread as Slack pages it."""

    def __init__(self, gaps: list[int], page: int = 1_000) -> None:
        at, self.times = START, [START]
        for gap in gaps:
            at += max(1, gap)
            self.times.append(at)
        self.page = page
        self.calls: list[Call] = []

    def message(self, index: int) -> dict[str, Any]:
        return {"ts": slack_ts(self.times[index]), "text": f"m{index}"}

    def replies(self, call: Call) -> tuple[list[dict[str, Any]], bool]:
        self.calls.append(call)
        replies = self.times[1:]
        if call.latest is not None:
            top = micros(call.latest)
            replies = [t for t in replies if t < top or (call.inclusive and t == top)]
        if call.oldest is not None:
            low = micros(call.oldest)
            replies = [t for t in replies if t > low or (call.inclusive and t == low)]
        parent = self.message(0) | {
            "reply_count": len(self.times) - 1,
            "latest_reply": slack_ts(self.times[-1]),
        }
        room = min(call.limit, self.page) - 1
        shown = [self.message(self.times.index(t)) for t in replies[:room]]
        return [parent, *shown], len(replies) > room

    def newest(self, before: int | None, want: int) -> list[str]:
        """What the reading should give: the newest `want` messages before `before`."""
        end = len(self.times) if before is None else before
        return [f"m{i}" for i in range(end)][-want:]


def read(thread: Thread, before: int | None, want: int) -> list[str]:
    """The reading driven to its end against `thread` (`before`: a message's index): the
    texts of the messages it gives."""
    point = slack_ts(thread.times[before]) if before is not None else None
    reading = NewestMessages(slack_ts(START), point, want, MAX_CALLS)
    while (call := reading.next_call()) is not None:
        messages, more = thread.replies(call)
        reading.took(call, messages, more)
    return [str(m["text"]) for m in reading.result()]


def test_a_thread_that_fits_a_page_is_read_in_one_call() -> None:
    thread = Thread([1_000] * 998)
    assert read(thread, 998, 20) == thread.newest(998, 20)
    assert len(thread.calls) == 1


def test_a_2500_reply_thread_of_even_pace_is_read_in_two_calls() -> None:
    thread = Thread([100] * 2_501)
    assert read(thread, 2_501, 20) == thread.newest(2_501, 20)
    assert len(thread.calls) == 2
    window = thread.calls[1]
    assert window.latest == slack_ts(thread.times[2_501])
    assert window.oldest is not None


def test_a_busy_thread_then_an_hour_of_silence_is_still_read_exactly() -> None:
    thread = Thread([100] * 2_500 + [3_600_000_000])
    assert read(thread, 2_501, 20) == thread.newest(2_501, 20)
    assert len(thread.calls) <= 5


def test_outside_the_marketplace_one_window_follows_the_first_page() -> None:
    # 15 a page, one call a minute: the newest page is the best a second call can give.
    thread = Thread([100] * 200, page=15)
    got = read(thread, 200, 20)
    assert len(thread.calls) == 2
    assert got == thread.newest(200, len(got))
    assert len(got) >= 13


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(1, 1_000),
            st.sampled_from([10**6, 10**9, 10**10]),
            st.builds(lambda n, g: [g] * n, st.integers(1, 800), st.integers(1, 10**7)),
        ),
        max_size=400,
    ).map(lambda items: [g for i in items for g in (i if isinstance(i, list) else [i])]),
    st.sampled_from([1_000, 200, 50]),
    st.integers(1, 200),
    st.one_of(st.none(), st.floats(0, 1)),
)
@pytest.mark.slow
def test_the_newest_messages_are_found_whatever_the_threads_pace(
    gaps: list[int], page: int, want: int, where: float | None
) -> None:
    thread = Thread(gaps, page)
    last = len(thread.times) - 1
    before = None if where is None or not last else max(1, round(where * last))
    got = read(thread, before, want)
    if len(thread.calls) < MAX_CALLS:
        assert got == thread.newest(before, want)
    else:  # out of calls: still messages of the thread before the point, oldest first
        every = thread.newest(before, len(thread.times))
        assert all(m in every for m in got)
        assert got == sorted(got, key=lambda m: int(m[1:]))
    if len(thread.newest(before, 10**9)) < page:  # all of it fits the first page
        assert len(thread.calls) == 1
