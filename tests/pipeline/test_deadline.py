"""The run's deadline: working time over a fake clock, and what a run does when it comes
(cut subtasks, an answer from what is done, none when nothing is)."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import LLMRequest, PipelineConfig, SubtaskCut, run_pipeline
from pipeline.deadline import WorkClock, subtask_limit
from pipeline.models import Checkpoint, Plan, SubtaskOutcome
from pipeline.testing import FunctionLLM, simple_plan
from pipeline.words import CUT_AT_DEADLINE
from tests.pipeline.conftest import Recorder


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_working_time_starts_at_the_run_and_goes_on_from_time_spent() -> None:
    clock = FakeClock()
    work = WorkClock(600, clock, spent_s=250)
    assert work.worked() == 250
    clock.now += 100
    assert work.worked() == 350
    assert work.remaining() == 250


def test_a_wait_is_not_working_time() -> None:
    clock = FakeClock()
    work = WorkClock(60, clock)
    clock.now += 50
    work.exclude(30)  # e.g. awaiting approval
    assert work.worked() == 20
    assert work.remaining() == 40


def test_remaining_time_never_goes_below_zero() -> None:
    clock = FakeClock()
    work = WorkClock(10, clock, spent_s=8)
    clock.now += 5
    assert work.remaining() == 0


@given(
    st.floats(0.1, 86_400),
    st.floats(0, 10_000),
    st.lists(st.floats(0, 1_000), max_size=5),
    st.floats(0, 1_000),
)
def test_worked_and_remaining_add_up_to_the_deadline_until_it_passes(
    limit: float, spent: float, steps: list[float], waited: float
) -> None:
    clock = FakeClock()
    work = WorkClock(limit, clock, spent_s=spent)
    for step in steps:
        clock.now += step
        assert work.remaining() >= 0
        assert work.worked() >= 0
        if work.worked() <= limit:
            assert work.worked() + work.remaining() == pytest.approx(limit)
    before = work.worked()
    work.exclude(waited)
    assert work.worked() == pytest.approx(max(0.0, before - waited))


def test_a_subtask_limit_defaults_to_the_deadline() -> None:
    assert subtask_limit(600, None) == 600
    assert subtask_limit(600, 30) == 30


def _hanging(hang: set[str], answer: str = "Answer.") -> FunctionLLM:
    async def respond(request: LLMRequest) -> str:
        if request.role == "orchestrator":
            return json.dumps(simple_plan("g", 3, depends={"s3": ["s2"]}))
        if request.role == "integrator":
            return answer
        if request.label in hang:
            await asyncio.Event().wait()  # never answers
        return f"Result of {request.label}."

    return FunctionLLM(respond)


async def test_at_the_deadline_the_others_answer_and_the_hung_ones_are_cut(
    config: PipelineConfig,
) -> None:
    recorder = Recorder()
    llm = _hanging({"s2"})
    short = config.model_copy(update={"run_deadline_s": 0.5})
    result = await run_pipeline("goal", llm=llm, config=short, sink=recorder)
    assert result.status == "partial"
    assert result.cut == ("s2", "s3")  # s2 was stopped, s3 (needs s2) never started
    assert result.outcomes["s1"].status == "done"
    assert result.outcomes["s2"].error == CUT_AT_DEADLINE
    cuts = [e for e in recorder.events if isinstance(e, SubtaskCut)]
    assert [(e.subtask_id, e.was_running) for e in cuts] == [("s2", True), ("s3", False)]
    integrator = llm.requests_for("integrator")
    assert len(integrator) == 1
    assert "at the deadline" in integrator[0].messages[0].content
    assert [r.label for r in llm.requests_for("subagent")] == ["s1", "s2"]


async def test_nothing_done_by_the_deadline_says_so_and_writes_no_answer(
    config: PipelineConfig,
) -> None:
    llm = _hanging({"s1", "s2"})
    short = config.model_copy(update={"run_deadline_s": 0.3})
    result = await run_pipeline("goal", llm=llm, config=short)
    assert result.status == "failed"
    assert result.error_kind == "DeadlineReached"
    assert "deadline" in result.error
    assert result.cut == ("s1", "s2", "s3")
    assert llm.requests_for("integrator") == []


async def test_a_resumed_run_goes_on_from_the_time_it_spent(config: PipelineConfig) -> None:
    llm = _hanging({"s2"})
    plan = Plan.model_validate(simple_plan("g", 3, depends={"s3": ["s2"]}))
    checkpoint = Checkpoint(plan, {"s1": SubtaskOutcome("s1", "done", output="kept")})
    # 599.7 of 600 s are spent: s2 hangs, so the rest of the deadline passes at once.
    result = await run_pipeline(
        "goal", llm=llm, config=config, checkpoint=checkpoint, worked_s=599.7
    )
    assert result.cut == ("s2", "s3")
    assert result.outcomes["s1"].output == "kept"
    assert [r.label for r in llm.requests_for("subagent")] == ["s2"]


async def test_a_subtask_past_its_own_limit_fails_and_its_dependents_are_skipped(
    config: PipelineConfig,
) -> None:
    llm = _hanging({"s2"})
    limited = config.model_copy(update={"subagent_timeout_s": 0.2})
    result = await run_pipeline("goal", llm=llm, config=limited)
    assert result.outcomes["s2"].status == "failed"
    assert "time limit" in result.outcomes["s2"].error
    assert result.outcomes["s3"].status == "skipped"
    assert result.cut == ()
    assert result.status == "partial"
