"""A run's working time as the store keeps it (bot/runs/worktime.py): it goes on from what
earlier attempts spent, a wait for a person (plan approval, a clarifying answer) is not
counted, and it is saved before the run's end is recorded. A fake clock: no wall time."""

from __future__ import annotations

from typing import Any

from bot.runs.worktime import WorkTime, tick_s
from bot.store import Fence, Fenced
from pipeline import Clarification, PipelineEvent, Plan, RunFinished, RunStarted, Usage
from pipeline.models import RunResult
from pipeline.testing import simple_plan


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Store:
    """Records save_work calls; `fenced`: the run is another replica's now."""

    def __init__(self, clock: Clock, fenced: bool = False) -> None:
        self.saved: list[tuple[float, float]] = []  # (clock at the save, work_s)
        self.clock, self.fenced = clock, fenced

    async def save_work(self, run_id: str, work_s: float, *, fence: Fence | None = None) -> None:
        if self.fenced:
            raise Fenced(run_id)
        self.saved.append((self.clock.now, work_s))


def work_time(store: Store, clock: Clock, worked_s: float = 0.0) -> WorkTime:
    return WorkTime(
        store,  # type: ignore[arg-type]  # save_work is all it uses
        "r1",
        worked_s=worked_s,
        deadline_s=600,
        clock=clock,
    )


def a_plan() -> Plan:
    return Plan.model_validate(simple_plan("goal"), context={"min": 1, "max": 10})


def finished() -> RunFinished:
    result = RunResult(
        run_id="r1",
        goal="goal",
        status="succeeded",
        plan=None,
        outcomes={},
        answer="",
        usage_by_role={},
        usage=Usage(),
        cost_usd=None,
        elapsed_s=1.0,
    )
    return RunFinished(run_id="r1", at=1.0, result=result)


def test_the_tick_is_a_fifth_of_the_deadline_within_bounds() -> None:
    assert tick_s(10) == 2
    assert tick_s(2) == 1
    assert tick_s(600) == 15


async def test_it_goes_on_from_earlier_attempts_and_saves_before_the_end_is_recorded() -> None:
    clock = Clock()
    store = Store(clock)
    work = work_time(store, clock, worked_s=4.0)
    work.start()
    clock.now += 3.0
    seen: list[tuple[PipelineEvent, int]] = []

    async def journal(event: PipelineEvent) -> None:
        seen.append((event, len(store.saved)))
        if isinstance(event, RunFinished):
            clock.now += 2.5  # the answer posted, the plan's last edit paced behind others

    sink = work.around(journal)
    await sink(RunStarted(run_id="r1", at=0.0, goal="goal"))
    await sink(finished())
    assert [saves for _, saves in seen] == [0, 1]  # saved before the end reached the journal
    assert store.saved == [(103.0, 7.0)]
    assert work.worked() == 7.0  # Slack's time after the end is not the run's
    await work.stop()
    assert store.saved == [(103.0, 7.0)]  # and not saved over the end's figure


async def test_a_wait_for_approval_or_an_answer_is_not_working_time() -> None:
    clock = Clock()
    store = Store(clock)
    work = work_time(store, clock)
    work.start()
    clock.now += 2.0

    async def approve(plan: Plan) -> Plan:
        clock.now += 300.0  # the person took five minutes
        return plan

    reviewed = work.reviewed(approve)
    assert reviewed is not None
    await reviewed(a_plan())

    class Asks:
        async def earlier(self) -> Clarification | None:
            clock.now += 50.0
            return None

        async def ask(self, question: str) -> str:
            clock.now += 60.0
            return "the answer"

    clarify = work.clarified(Asks())
    assert await clarify.earlier() is None
    assert await clarify.ask("which one?") == "the answer"
    clock.now += 1.0
    assert work.worked() == 3.0
    assert work.reviewed(None) is None


async def test_a_run_another_replica_took_keeps_that_replicas_time() -> None:
    clock = Clock()
    store = Store(clock, fenced=True)
    work = work_time(store, clock)
    work.start()
    clock.now += 1.0
    got: list[Any] = []

    async def journal(event: PipelineEvent) -> None:
        got.append(event)

    await work.around(journal)(finished())
    await work.stop()  # no error: a fenced save is the other replica's business
    assert store.saved == []
    assert len(got) == 1
