"""Writes that can wait (issue 21.5): buffered per run, landing in the run's next
synchronous write's transaction, at its end or pause, with the timer, or at close; a
buffered write lost to a crash costs progress only, never a wrong resume."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.runs.resume import checkpoint_of
from bot.store import RunStore, StoredUsage
from bot.thread.journal import Journal
from pipeline import PlanReady, SubtaskFinished, SubtaskStarted, Usage
from pipeline.models import Plan
from pipeline.testing import simple_plan
from tests.store.conftest import stored


@contextmanager
def write_transactions(store: RunStore) -> Iterator[list[int]]:
    """Counts the transactions that committed a data change (`[n]`) while open."""
    engine = store._engine.sync_engine
    count, dirty = [0], {"on": False}

    def executed(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            dirty["on"] = True

    def committed(_c: Any) -> None:
        if dirty["on"]:
            count[0] += 1
        dirty["on"] = False

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", committed)


async def _planned(store: RunStore, subtasks: int = 2) -> str:
    run_id = await store.create_run(
        workspace="T", requester="U1", channel="C1", source="command", goal="tides"
    )
    await store.save_plan(run_id, {"goal": "tides"}, [(f"s{i + 1}", "r") for i in range(subtasks)])
    return run_id


async def test_buffered_progress_lands_with_the_runs_next_write_in_one_transaction(
    store: RunStore,
) -> None:
    run_id = await _planned(store)
    with write_transactions(store) as commits:
        await store.mark_running(run_id, later=True)
        await store.set_thread(run_id, "1.1", plan_ts="1.2", later=True)
        await store.save_subtask(run_id, "s1", "running", later=True)
        await store.save_subtask(run_id, "s2", "running", later=True)
        await store.save_work(run_id, 4.0)  # buffered unless said otherwise
        before = await stored(store, run_id)
        assert commits == [0]
        assert (before.status, before.plan_ts, before.work_s) == ("queued", None, 0.0)
        assert {s.state for s in before.subtasks} == {"pending"}

        await store.save_subtask(run_id, "s1", "done", output="Found it.")
        assert commits == [1]
    after = await stored(store, run_id)
    assert (after.status, after.thread_ts, after.plan_ts, after.work_s) == (
        "running",
        "1.1",
        "1.2",
        4.0,
    )
    states = {s.subtask_id: (s.state, s.started_at is not None) for s in after.subtasks}
    assert states == {"s1": ("done", True), "s2": ("running", True)}


async def test_a_runs_spend_lands_once_at_its_end_and_its_cost_counts_it_meanwhile(
    store: RunStore,
) -> None:
    run_id = await _planned(store)
    for usd in (0.25, 0.5):
        await store.record_spend(user="U1", channel="C1", usd=usd, run_id=run_id, later=True)
    await store.save_subtask(run_id, "s1", "done", output="x")  # not the run's end
    assert await store.spend_today(user="U1") == 0.0
    assert await store.run_cost(run_id) == 0.75
    with write_transactions(store) as commits:
        await store.finish_run(run_id, "succeeded", "none", "answer", StoredUsage())
        assert commits == [1]
    assert await store.spend_today(user="U1") == 0.75
    assert (await stored(store, run_id)).cost_usd == 0.75
    assert await store.run_cost(run_id) == 0.75  # counted once


async def test_a_pause_and_a_close_write_what_is_buffered(
    database_url: str, store: RunStore
) -> None:
    paused, closed = await _planned(store), await _planned(store)
    await store.mark_running(paused, later=True)
    await store.save_subtask(paused, "s1", "running", later=True)
    await store.record_spend(user="U1", channel="C1", usd=1.0, run_id=paused, later=True)
    assert await store.mark_paused([paused]) == 1
    run = await stored(store, paused)
    assert (run.status, run.cost_usd) == ("paused", 1.0)
    assert run.subtasks[0].state == "running"

    await store.set_thread(closed, "9.9", later=True)
    await store.close()
    reopened = await RunStore.open(database_url)
    try:
        assert (await stored(reopened, closed)).thread_ts == "9.9"
    finally:
        await reopened.close()


async def test_the_timer_writes_every_runs_buffer_in_one_transaction(store: RunStore) -> None:
    first, second = await _planned(store), await _planned(store)
    with write_transactions(store) as commits:
        await store.save_subtask(first, "s1", "running", later=True)
        await store.save_work(second, 2.0)
        await store.flush()  # what the timer calls
        assert commits == [1]
    assert (await stored(store, first)).subtasks[0].state == "running"
    assert (await stored(store, second)).work_s == 2.0


async def test_a_flushed_start_that_commits_late_never_replaces_the_result_written_after_it(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The timer's flush takes a subtask's buffered `running`, then its transaction is slow;
    # the subtask's `done` is written meanwhile. On PostgreSQL the two transactions could
    # commit in either order: `running` over `done` made a resume call Claude again.
    run_id = await _planned(store)
    await store.save_subtask(run_id, "s1", "running", later=True)
    taken, go = asyncio.Event(), asyncio.Event()
    write_taken = store._write_taken

    async def slow_write_taken(db: Any, batch: Any, fence: Any) -> None:
        if batch:
            taken.set()
            await go.wait()
        await write_taken(db, batch, fence)

    monkeypatch.setattr(store, "_write_taken", slow_write_taken)
    flushing = asyncio.create_task(store.flush())
    await taken.wait()
    done = asyncio.create_task(store.save_subtask(run_id, "s1", "done", output="Found it."))
    # Without the ordering, `done` commits now (PostgreSQL has no process-wide write lock).
    await asyncio.wait({done}, timeout=0.5)
    go.set()
    await asyncio.gather(flushing, done)
    subtask = (await stored(store, run_id)).subtasks[0]
    assert (subtask.state, subtask.output) == ("done", "Found it.")


async def test_progress_buffered_under_a_fence_the_run_lost_is_dropped(store: RunStore) -> None:
    run_id = await store.create_run(
        workspace="T",
        requester="U1",
        channel="C1",
        source="command",
        goal="tides",
        owner="a",
        lease_s=0.0,  # ran out at once: replica b may take it over
    )
    old = await store.take_run(run_id, "a", 60.0)
    assert old is not None
    await store.save_plan(run_id, {"goal": "tides"}, [("s1", "r")], fence=old)
    await store.set_thread(run_id, "1.1", plan_ts="old", fence=old, later=True)
    await store.release_run(old)
    new = await store.take_run(run_id, "b", 60.0)
    assert new is not None
    await store.flush()
    assert (await stored(store, run_id)).plan_ts is None  # a's write, refused as a's
    await store.set_thread(run_id, "1.1", plan_ts="new", fence=new, later=True)
    await store.flush()
    assert (await stored(store, run_id)).plan_ts == "new"


async def test_a_crash_that_loses_buffered_progress_still_resumes_right(tmp_path: Path) -> None:
    store = await RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}")
    run_id = await store.create_run(
        workspace="T", requester="U1", channel="C1", source="command", goal="tides"
    )
    plan = Plan.model_validate(simple_plan("tides", 2), context={"min": 2, "max": 5})
    journal = Journal(store, run_id)
    await journal.running()
    await journal.record(PlanReady(run_id=run_id, at=0.0, plan=plan))
    for sid in ("s1", "s2"):
        await journal.record(SubtaskStarted(run_id=run_id, at=0.1, subtask_id=sid))
    done = SubtaskFinished(
        run_id=run_id, at=1.0, subtask_id="s1", output="Found it.", elapsed_s=1.0, usage=Usage()
    )
    await journal.record(done)  # synchronous: stored before the thread shows it
    await journal.record(SubtaskStarted(run_id=run_id, at=1.1, subtask_id="s2"))
    store._buffer.take()  # SIGKILL: whatever was buffered is gone
    await store.close()

    reopened = await RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        [unfinished] = await reopened.unfinished_runs()
        assert unfinished.run_id == run_id
        checkpoint = checkpoint_of(unfinished)
        assert checkpoint is not None
        assert list(checkpoint.done) == ["s1"]  # s2 runs again, whatever its stored state
        assert checkpoint.done["s1"].output == "Found it."
    finally:
        await reopened.close()
