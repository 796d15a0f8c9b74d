"""Clarifying questions in the store (issue 22.3): a question is kept open with its expiry
(a resumed run finds it), answered once (an answer after it expired is refused), found by its
thread while its run is unfinished, and deleted with the run's texts by retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import RunStore, StoredUsage
from tests.store.conftest import FakeClock


async def _run(store: RunStore, thread_ts: str = "100.1") -> str:
    return await store.create_run(
        workspace="T1",
        requester="U1",
        channel="C1",
        source="mention",
        goal="tides",
        thread_ts=thread_ts,
        status="running",
    )


def _at(clock: FakeClock, seconds: float) -> datetime:
    return datetime.fromtimestamp(clock() + seconds, UTC)


async def test_a_question_is_kept_open_and_answered_once(store: RunStore, clock: FakeClock) -> None:
    run_id = await _run(store)
    assert await store.question_of(run_id) is None
    await store.ask_question(run_id, "Which region?", _at(clock, 3600))
    found = await store.question_of(run_id)
    assert found is not None
    assert (found.question, found.state, found.expires_at) == (
        "Which region?",
        "open",
        _at(clock, 3600),
    )
    assert await store.answer_question(run_id, "U1", "Europe")
    assert not await store.answer_question(run_id, "U1", "Asia")  # answered once
    assert not await store.expire_question(run_id)
    found = await store.question_of(run_id)
    assert found is not None
    assert (found.state, found.answer, found.answered_by) == ("answered", "Europe", "U1")


async def test_an_expired_question_takes_no_answer(store: RunStore) -> None:
    run_id = await _run(store)
    await store.ask_question(run_id, "Which region?", datetime.now(UTC))
    assert await store.expire_question(run_id)
    assert not await store.answer_question(run_id, "U1", "Europe")
    found = await store.question_of(run_id)
    assert found is not None
    assert found.state == "expired"


async def test_the_threads_open_question_is_found_while_its_run_is_unfinished(
    store: RunStore, clock: FakeClock
) -> None:
    run_id = await _run(store)
    assert await store.open_question_in_thread("C1", "100.1") is None
    await store.ask_question(run_id, "Which region?", _at(clock, 3600))
    found = await store.open_question_in_thread("C1", "100.1")
    assert found is not None
    assert (found.run_id, found.requester) == (run_id, "U1")
    assert await store.open_question_in_thread("C1", "200.2") is None
    assert await store.mark_paused([run_id]) == 1
    assert await store.open_question_in_thread("C1", "100.1") is not None  # paused: still waits
    await store.answer_question(run_id, "U1", "Europe")
    assert await store.open_question_in_thread("C1", "100.1") is None


async def test_retention_deletes_the_question_and_answer_with_the_runs_texts(
    store: RunStore, clock: FakeClock
) -> None:
    run_id = await _run(store)
    await store.ask_question(run_id, "Which region?", _at(clock, 3600))
    await store.answer_question(run_id, "U1", "Europe")
    await store.finish_run(run_id, "succeeded", "none", "answer", StoredUsage())
    clock.advance(timedelta(days=91).total_seconds())
    await store.purge(older_than_days=90)
    assert await store.question_of(run_id) is None
