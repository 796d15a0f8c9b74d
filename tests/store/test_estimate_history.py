"""The estimate history every run's start reads (issue 22.4): the newest answered runs of one
workspace at one effort, their four figures, along an index rather than a scan of all runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.store import RunActuals, RunStore, StoredUsage
from bot.store.reads import HISTORY_FRESH_S
from tests.store.conftest import FakeClock


async def ended(
    store: RunStore,
    clock: FakeClock,
    work_s: float,
    *,
    workspace: str = "T1",
    effort: str = "",
    status: str = "succeeded",
    parent: str | None = None,
    advance: float = 10,
) -> str:
    run_id = await store.create_run(
        workspace=workspace,
        requester="U1",
        channel="C1",
        source="command",
        goal="compare tides",
        parent_run_id=parent,
    )
    await store.save_effort(run_id, effort, 0.01, 2.0, (0.02, 50.0))
    await store.save_work(run_id, work_s)
    clock.advance(advance)
    await store.finish_run(run_id, status, "none", "answer", StoredUsage(10, 10))  # type: ignore[arg-type]
    return run_id


async def test_only_answered_runs_of_the_workspace_and_effort_newest_first(
    store: RunStore, clock: FakeClock
) -> None:
    first = await ended(store, clock, 1.0)
    await ended(store, clock, 2.0, workspace="T2")
    await ended(store, clock, 3.0, effort="deep")
    await ended(store, clock, 4.0, status="failed")
    await ended(store, clock, 5.0, parent=first)  # a Retry ran part of a plan
    await ended(store, clock, 6.0)
    found = await store.estimate_history("T1", None)
    assert [r.work_s for r in found] == [6.0, 1.0]
    assert found[0] == RunActuals(
        basis_usd=0.02, basis_s=50.0, cost_usd=found[0].cost_usd, work_s=6
    )
    assert [r.work_s for r in await store.estimate_history("T1", "deep")] == [3.0]
    assert [r.work_s for r in await store.estimate_history("T1", None, limit=1)] == [6.0]


async def test_the_read_goes_along_its_index_not_through_every_run(tmp_path: Path) -> None:
    store = await RunStore.open(f"sqlite:///{tmp_path / 'orchestra.db'}")
    engine = store._engine
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        await store.estimate_history("T1", None)
        [(statement, parameters)] = seen
        async with engine.connect() as db:
            raw = await db.get_raw_connection()
            plan = await raw.driver_connection.execute(  # type: ignore[union-attr]
                f"EXPLAIN QUERY PLAN {statement}", parameters
            )
            found = " ".join(str(row[-1]) for row in await plan.fetchall())
        assert "ix_runs_workspace_effort_finished_at_run_id" in found, found
        assert "TEMP B-TREE" not in found, found  # no sort of every match
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)
        await store.close()


async def test_a_burst_reads_it_once_and_a_finished_run_is_learned_from_at_once(
    store: RunStore, clock: FakeClock
) -> None:
    await ended(store, clock, 1.0)
    reads: list[str] = []

    def executed(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    engine = store._engine.sync_engine
    event.listen(engine, "before_cursor_execute", executed)
    try:
        first = [await store.estimate_history("T1", None) for _ in range(20)]
        assert len(reads) == 1  # twenty runs starting together: one read
        assert all(h == first[0] for h in first)
        await ended(store, clock, 2.0, advance=0.5)  # finished here: learned at once
        assert [r.work_s for r in await store.estimate_history("T1", None)] == [2.0, 1.0]
        reads.clear()
        clock.advance(HISTORY_FRESH_S + 0.1)  # another replica's runs show within this
        await store.estimate_history("T1", None)
        assert len(reads) == 1
    finally:
        event.remove(engine, "before_cursor_execute", executed)
