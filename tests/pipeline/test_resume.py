"""Resuming from a checkpoint: finished subtasks are reused, the rest run, usage stays whole."""

from __future__ import annotations

from pipeline import (
    PipelineConfig,
    PlanReady,
    SubtaskFinished,
    Usage,
    run_pipeline,
)
from pipeline.models import Checkpoint, Plan, SubtaskOutcome
from pipeline.testing import ScriptedLLM, simple_plan
from tests.pipeline.conftest import Recorder


def _plan(config: PipelineConfig, count: int = 3) -> Plan:
    return Plan.model_validate(
        simple_plan("resume me", count), context={"min": 2, "max": config.max_subtasks}
    )


async def test_resumed_run_calls_only_the_unfinished_subtasks(
    config: PipelineConfig, recorder: Recorder
) -> None:
    plan = _plan(config)
    done = {
        "s1": SubtaskOutcome("s1", "done", output="First.", usage=Usage(10, 5)),
        "s2": SubtaskOutcome("s2", "done", output="Second.", usage=Usage(20, 5)),
    }
    llm = ScriptedLLM(answer="Whole answer.")
    result = await run_pipeline(
        "resume me",
        llm=llm,
        config=config,
        sink=recorder,
        checkpoint=Checkpoint(plan, done, spent={"orchestrator": Usage(100, 50)}),
    )
    assert result.status == "succeeded"
    assert [r.label for r in llm.requests] == ["s3", "integrate"]
    integrator_prompt = llm.requests[-1].messages[0].content
    assert "First." in integrator_prompt
    assert "Second." in integrator_prompt
    reused = [e for e in recorder.of(SubtaskFinished) if isinstance(e, SubtaskFinished)]
    assert {e.subtask_id for e in reused if e.reused} == {"s1", "s2"}
    ready = recorder.of(PlanReady)[0]
    assert isinstance(ready, PlanReady)
    assert ready.resumed
    # The earlier attempt's spend stays part of the run.
    assert result.usage_by_role["orchestrator"] == Usage(100, 50)
    assert result.usage.input_tokens >= 130


async def test_a_retry_does_not_count_the_subtasks_it_borrows(config: PipelineConfig) -> None:
    plan = _plan(config)
    done = {"s1": SubtaskOutcome("s1", "done", output="First.", usage=Usage(10, 5, 0, 0, 2))}
    llm = ScriptedLLM(answer="Whole answer.")
    checkpoint = Checkpoint(plan, done, spent={"orchestrator": Usage(100, 50)}, borrowed=True)
    result = await run_pipeline("retry me", llm=llm, config=config, checkpoint=checkpoint)
    assert [r.label for r in llm.requests] == ["s2", "s3", "integrate"]
    # Another run made s1 and the plan, and was charged for them: this run's usage is its own.
    assert "orchestrator" not in result.usage_by_role
    assert result.usage.web_search_requests == 0
    assert result.usage.input_tokens == sum(reply.usage.input_tokens for _, reply in llm.replies)


async def test_failed_subtasks_of_a_checkpoint_run_again_with_their_dependents(
    config: PipelineConfig,
) -> None:
    raw = simple_plan("retry me", 3)
    raw["subtasks"][2]["depends_on"] = ["s2"]
    plan = Plan.model_validate(raw, context={"min": 2, "max": 5})
    done = {"s1": SubtaskOutcome("s1", "done", output="First.")}  # s2 failed, s3 was skipped
    llm = ScriptedLLM(outputs={"s2": "Second, now.", "s3": "Third, built on the second."})
    result = await run_pipeline(
        "retry me", llm=llm, config=config, checkpoint=Checkpoint(plan, done)
    )
    assert result.status == "succeeded"
    assert [r.label for r in llm.requests] == ["s2", "s3", "integrate"]
    assert result.outcomes["s3"].output == "Third, built on the second."


async def test_a_fresh_run_reports_what_planning_cost(
    config: PipelineConfig, recorder: Recorder
) -> None:
    await run_pipeline("goal", llm=ScriptedLLM(), config=config, sink=recorder)
    ready = recorder.of(PlanReady)[0]
    assert isinstance(ready, PlanReady)
    assert not ready.resumed
    assert ready.usage.input_tokens > 0
