"""What the journal stores is what a resume gets back: outputs, usage (searches too), sources."""

from __future__ import annotations

from pathlib import Path

from bot.runs.resume import checkpoint_of
from bot.store import RunStore
from bot.thread.journal import Journal
from pipeline import PlanReady, Source, SubtaskFinished, Usage
from pipeline.models import Plan
from pipeline.testing import simple_plan


async def test_a_done_subtask_comes_back_whole_from_the_store(tmp_path: Path) -> None:
    store = await RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        run_id = await store.create_run(
            workspace="T", requester="U1", channel="C1", source="command", goal="tides"
        )
        plan = Plan.model_validate(simple_plan("tides", 2), context={"min": 2, "max": 5})
        journal = Journal(store, run_id)
        await journal.record(PlanReady(run_id=run_id, at=0.0, plan=plan))
        sources = (Source("https://example.com/a", "A page", "a quote"),)
        usage = Usage(100, 20, 5, 7, web_search_requests=3)
        await journal.record(
            SubtaskFinished(
                run_id=run_id,
                at=1.0,
                subtask_id="s1",
                output="Found it.",
                elapsed_s=1.0,
                usage=usage,
                sources=sources,
                searches=3,
            )
        )
        stored = await store.get_run(run_id)
        assert stored is not None
        checkpoint = checkpoint_of(stored)
        assert checkpoint is not None
        assert [t.id for t in checkpoint.plan.subtasks] == ["s1", "s2"]
        done = checkpoint.done["s1"]
        assert done.output == "Found it."
        assert done.usage == usage
        assert done.sources == sources
        assert "s2" not in checkpoint.done
    finally:
        await store.close()
