"""Plan review (issue 22.3) in the pipeline: no subagent call before the review answers, an
edited plan is the one run (and shown again), an expired review fails the run with its
sentence, and the wait is not working time against the deadline."""

from __future__ import annotations

import asyncio
import json

from pipeline import PipelineConfig, Plan, PlanReady, ReviewExpired, SubTask, run_pipeline
from pipeline.events import PipelineEvent
from pipeline.llm import LLMRequest
from pipeline.testing import FunctionLLM, simple_plan


def _respond(request: LLMRequest) -> str:
    if request.role == "orchestrator":
        return json.dumps(simple_plan("goal", 3, depends={"s3": ["s2"]}))
    return f"{request.label} done"


async def test_no_subagent_call_before_the_review_answers(config: PipelineConfig) -> None:
    llm = FunctionLLM(_respond)
    seen: list[int] = []

    async def review(plan: Plan) -> Plan:
        seen.append(len(llm.requests_for("subagent")))
        return plan

    result = await run_pipeline("goal", llm=llm, config=config, review=review)
    assert result.status == "succeeded"
    assert seen == [0]
    assert len(llm.requests_for("subagent")) == 3


async def test_the_edited_plan_is_run_and_shown_again(config: PipelineConfig) -> None:
    llm = FunctionLLM(_respond)
    events: list[PipelineEvent] = []

    async def sink(event: PipelineEvent) -> None:
        events.append(event)

    async def review(plan: Plan) -> Plan:
        first, second, _ = plan.subtasks
        return plan.model_copy(update={"subtasks": [replace_input(first, "only this"), second]})

    result = await run_pipeline("goal", llm=llm, config=config, sink=sink, review=review)
    labels = sorted(r.label for r in llm.requests_for("subagent"))
    assert labels == ["s1", "s2"]
    s1 = next(r for r in llm.requests_for("subagent") if r.label == "s1")
    assert "only this" in s1.messages[0].content
    plans = [e.plan for e in events if isinstance(e, PlanReady)]
    assert [len(p.subtasks) for p in plans] == [3, 2]
    assert result.plan is not None
    assert len(result.plan.subtasks) == 2


def replace_input(task: SubTask, text: str) -> SubTask:
    return task.model_copy(update={"input": text})


async def test_an_expired_review_fails_the_run_before_any_subagent(
    config: PipelineConfig,
) -> None:
    llm = FunctionLLM(_respond)

    async def review(plan: Plan) -> Plan:
        raise ReviewExpired("This plan expired: nobody approved it within 1 hour.")

    result = await run_pipeline("goal", llm=llm, config=config, review=review)
    assert result.status == "failed"
    assert "expired" in result.error
    assert llm.requests_for("subagent") == []


async def test_waiting_for_approval_is_not_working_time(config: PipelineConfig) -> None:
    now = [0.0]
    llm = FunctionLLM(_respond)

    async def review(plan: Plan) -> Plan:
        now[0] += 10_000.0  # far past the deadline, while waiting
        await asyncio.sleep(0)
        return plan

    tight = config.model_copy(update={"run_deadline_s": 60.0})
    result = await run_pipeline("goal", llm=llm, config=tight, review=review, clock=lambda: now[0])
    assert result.status == "succeeded"
    assert result.cut == ()
