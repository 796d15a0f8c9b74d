"""Runs and subtasks: each write, and what the reads give back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.store import FinishedStatus, RunStore, StoredUsage, UnknownRun, UnknownSubtask
from tests.store.conftest import FakeClock, stored

PLAN = {"restatement": "compare teas", "subtasks": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}
ROLES = [("a", "Researcher of green tea"), ("b", "Researcher of black tea"), ("c", "Comparer")]


def _at(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock.now, UTC)


async def _new_run(
    store: RunStore,
    *,
    channel: str = "C1",
    requester: str = "U1",
    goal: str = "compare teas",
) -> str:
    return await store.create_run(
        workspace="T1", requester=requester, channel=channel, source="command", goal=goal
    )


async def test_a_created_run_reads_back_with_every_field(store: RunStore, clock: FakeClock) -> None:
    parent = await _new_run(store)
    run_id = await store.create_run(
        workspace="T1",
        requester="U2",
        channel="C9",
        source="mention",
        goal="compare teas",
        context="earlier: we like oolong",
        delivery_key="Ev123",
        thread_ts="1700000000.000100",
        parent_run_id=parent,
        run_id="run-explicit",
    )
    run = await store.get_run(run_id)

    assert run is not None
    assert (run.run_id, run.workspace, run.requester, run.channel) == (
        "run-explicit",
        "T1",
        "U2",
        "C9",
    )
    assert (run.source, run.delivery_key, run.parent_run_id) == ("mention", "Ev123", parent)
    assert (run.goal, run.context, run.thread_ts) == (
        "compare teas",
        "earlier: we like oolong",
        "1700000000.000100",
    )
    assert run.status == "queued"
    assert run.created_at == run.updated_at == _at(clock)
    assert run.started_at is None
    assert run.finished_at is None
    assert run.subtasks == ()
    assert run.answer_ts == ()
    assert run.plan is None
    assert run.cost_usd is None
    assert run.usage == StoredUsage()
    assert (run.owner, run.lease_until, run.fencing_token, run.purged_at) == (None,) * 4


async def test_an_unknown_run_reads_as_none_and_refuses_writes(store: RunStore) -> None:
    assert await store.get_run("nope") is None
    with pytest.raises(UnknownRun):
        await store.set_thread("nope", "1.0")
    with pytest.raises(UnknownRun):
        await store.save_plan("nope", PLAN, ROLES)
    with pytest.raises(UnknownSubtask):
        await store.save_subtask("nope", "a", "running")


async def test_set_thread_keeps_timestamps_it_is_not_given(store: RunStore) -> None:
    run_id = await _new_run(store)
    await store.set_thread(run_id, "1.1", root_ts="1.1", plan_ts="1.2")
    await store.set_thread(run_id, "1.1")

    run = await store.get_run(run_id)
    assert run is not None
    assert (run.thread_ts, run.root_ts, run.plan_ts) == ("1.1", "1.1", "1.2")


async def test_a_saved_plan_has_pending_subtasks_in_plan_order(store: RunStore) -> None:
    run_id = await _new_run(store)
    await store.save_plan(run_id, {"old": True}, [("x", "gone")])
    await store.save_plan(run_id, PLAN, ROLES)

    run = await store.get_run(run_id)
    assert run is not None
    assert run.plan == PLAN
    assert [(s.subtask_id, s.role, s.state, s.position) for s in run.subtasks] == [
        ("a", "Researcher of green tea", "pending", 0),
        ("b", "Researcher of black tea", "pending", 1),
        ("c", "Comparer", "pending", 2),
    ]


async def test_a_subtask_failed_then_retried_keeps_its_start_and_loses_its_error(
    store: RunStore, clock: FakeClock
) -> None:
    run_id = await _new_run(store)
    await store.save_plan(run_id, PLAN, ROLES)
    started = _at(clock)
    await store.save_subtask(run_id, "a", "running", attempts=1)
    clock.advance(5)
    await store.save_subtask(run_id, "a", "failed", error="overloaded", attempts=3)
    failed = (await stored(store, run_id)).subtasks[0]
    assert (failed.state, failed.error, failed.attempts) == ("failed", "overloaded", 3)
    assert failed.finished_at == _at(clock)

    clock.advance(60)
    await store.save_subtask(run_id, "a", "running", attempts=1)
    retrying = (await stored(store, run_id)).subtasks[0]
    assert retrying.started_at == started
    assert retrying.finished_at is None

    usage = StoredUsage(10, 20, 30, 40, 2)
    sources = [{"url": "https://example.org/tea", "title": "Tea"}]
    await store.save_subtask(
        run_id, "a", "done", output="green tea is…", sources=sources, usage=usage
    )
    done = (await stored(store, run_id)).subtasks[0]
    assert (done.state, done.output, done.error, done.usage) == (
        "done",
        "green tea is…",
        None,
        usage,
    )
    assert done.sources == tuple(sources)
    assert done.attempts == 1
    assert done.finished_at == _at(clock)


async def test_an_unknown_subtask_is_refused(store: RunStore) -> None:
    run_id = await _new_run(store)
    await store.save_plan(run_id, PLAN, ROLES)
    with pytest.raises(UnknownSubtask):
        await store.save_subtask(run_id, "zz", "done")


async def test_answer_messages_keep_posting_order_and_ignore_repeats(store: RunStore) -> None:
    run_id = await _new_run(store)
    for ts in ("1700000002.000200", "1700000002.000100", "1700000002.000200", "1700000003.0"):
        await store.add_answer_ts(run_id, ts)

    run = await store.get_run(run_id)
    assert run is not None
    assert run.answer_ts == ("1700000002.000200", "1700000002.000100", "1700000003.0")


async def test_a_finished_run_has_its_answer_usage_cost_and_end(
    store: RunStore, clock: FakeClock
) -> None:
    run_id = await _new_run(store)
    await store.mark_running(run_id)
    clock.advance(42)
    usage = StoredUsage(1000, 500, 200, 100, 3)
    await store.record_spend(user="U1", channel="C1", usd=0.0123, run_id=run_id)
    await store.finish_run(run_id, "partial", "none", "Green tea wins [1].", usage)

    run = await store.get_run(run_id)
    assert run is not None
    assert (run.status, run.end_reason, run.ended_by) == ("partial", "none", None)
    assert (run.answer, run.usage, run.cost_usd) == ("Green tea wins [1].", usage, 0.0123)
    assert run.finished_at == _at(clock)


async def test_a_cancelled_run_records_who_and_an_unknown_cost(store: RunStore) -> None:
    run_id = await _new_run(store)
    await store.finish_run(
        run_id, "cancelled", "cancelled_by_user", None, StoredUsage(), "U7", cost_known=False
    )
    run = await store.get_run(run_id)
    assert run is not None
    assert (run.status, run.end_reason, run.ended_by, run.cost_usd) == (
        "cancelled",
        "cancelled_by_user",
        "U7",
        None,
    )


async def test_pausing_touches_only_live_runs_and_resuming_keeps_the_first_start(
    store: RunStore, clock: FakeClock
) -> None:
    queued = await _new_run(store)
    running = await _new_run(store)
    done = await _new_run(store)
    await store.mark_running(running)
    first_start = _at(clock)
    await store.finish_run(done, "succeeded", "none", "ok", StoredUsage())

    assert await store.mark_paused([queued, running, done, "unknown"], "restart") == 2

    statuses = {r: (await stored(store, r)).status for r in (queued, running, done)}
    assert statuses == {queued: "paused", running: "paused", done: "succeeded"}
    assert (await stored(store, running)).end_reason == "restart"
    assert await store.mark_paused([], "restart") == 0

    clock.advance(30)
    await store.mark_running(running)
    resumed = await store.get_run(running)
    assert resumed is not None
    assert (resumed.status, resumed.end_reason, resumed.started_at) == (
        "running",
        None,
        first_start,
    )


async def test_unfinished_runs_are_exactly_the_queued_running_and_paused_ones(
    store: RunStore, clock: FakeClock
) -> None:
    ids = {}
    for status in ("queued", "running", "paused", "succeeded", "partial", "failed", "cancelled"):
        clock.advance(1)
        run_id = await _new_run(store, goal=status)
        await store.save_plan(run_id, PLAN, ROLES)
        ids[status] = run_id
    await store.save_subtask(ids["running"], "a", "done", output="A")
    await store.save_subtask(ids["running"], "b", "running")
    await store.mark_running(ids["running"])
    await store.mark_running(ids["paused"])
    await store.mark_paused([ids["paused"]], "restart")
    finished: tuple[FinishedStatus, ...] = ("succeeded", "partial", "failed", "cancelled")
    for status in finished:
        await store.finish_run(ids[status], status, "none", None, StoredUsage())

    unfinished = await store.unfinished_runs()

    assert [run.goal for run in unfinished] == ["queued", "running", "paused"]
    running = unfinished[1]
    assert [(s.subtask_id, s.state, s.output) for s in running.subtasks] == [
        ("a", "done", "A"),
        ("b", "running", None),
        ("c", "pending", None),
    ]
    assert all(len(run.subtasks) == 3 for run in unfinished)


async def test_recent_runs_are_newest_first_and_filtered(store: RunStore, clock: FakeClock) -> None:
    for n, (channel, requester) in enumerate(
        [("C1", "U1"), ("C2", "U1"), ("C1", "U2"), ("C1", "U1"), ("C2", "U2")]
    ):
        clock.advance(1)
        await _new_run(store, channel=channel, requester=requester, goal=f"goal {n}")

    everything = await store.recent_runs()
    in_c1 = await store.recent_runs(channel="C1")
    mine_in_c1 = await store.recent_runs(channel="C1", requester="U1")
    latest_two = await store.recent_runs(limit=2)

    assert [s.goal for s in everything] == [f"goal {n}" for n in (4, 3, 2, 1, 0)]
    assert [s.goal for s in in_c1] == ["goal 3", "goal 2", "goal 0"]
    assert [s.goal for s in mine_in_c1] == ["goal 3", "goal 0"]
    assert [s.goal for s in latest_two] == ["goal 4", "goal 3"]
    assert everything[0].status == "queued"
    assert everything[0].cost_usd is None
    assert await store.recent_runs(workspace="T-other") == []


async def test_spend_since_sums_the_costs_of_runs_created_since(
    store: RunStore, clock: FakeClock
) -> None:
    old = await _new_run(store)
    await store.record_spend(user="U1", channel="C1", usd=5.0, run_id=old)
    await store.finish_run(old, "succeeded", "none", "x", StoredUsage())
    clock.advance(3600)
    since = _at(clock)
    for requester, channel, cost in [("U1", "C1", 0.25), ("U2", "C1", 0.5), ("U1", "C2", None)]:
        run_id = await _new_run(store, requester=requester, channel=channel)
        if cost is not None:
            await store.record_spend(user=requester, channel=channel, usd=cost, run_id=run_id)
        await store.finish_run(
            run_id, "succeeded", "none", "x", StoredUsage(), cost_known=cost is not None
        )

    assert await store.spend_since(since) == pytest.approx(0.75)
    assert await store.spend_since(since, requester="U1") == pytest.approx(0.25)
    assert await store.spend_since(since, channel="C1") == pytest.approx(0.75)
    assert await store.spend_since(since, requester="U1", channel="C2") == 0.0


async def test_concurrent_writes_from_many_tasks_all_land(store: RunStore) -> None:
    run_ids = [await _new_run(store, goal=f"g{n}") for n in range(5)]
    roles = [(f"s{n}", f"role {n}") for n in range(8)]
    await asyncio.gather(*(store.save_plan(run_id, PLAN, roles) for run_id in run_ids))

    await asyncio.gather(
        *(
            store.save_subtask(run_id, subtask_id, "done", output=f"{run_id}/{subtask_id}")
            for run_id in run_ids
            for subtask_id, _ in roles
        ),
        *(store.add_answer_ts(run_id, f"17.{n}") for run_id in run_ids for n in range(5)),
    )

    for run_id in run_ids:
        run = await store.get_run(run_id)
        assert run is not None
        assert [s.output for s in run.subtasks] == [f"{run_id}/s{n}" for n in range(8)]
        assert sorted(run.answer_ts) == [f"17.{n}" for n in range(5)]
