"""Scheduling: parallelism, dependencies, the concurrency cap, failures and skips."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from pipeline import (
    LLMError,
    LLMRequest,
    PipelineConfig,
    RunCancelled,
    SubtaskSkipped,
    SubtaskStarted,
    run_pipeline,
)
from pipeline.testing import FunctionLLM, ScriptedLLM, simple_plan
from tests.pipeline.conftest import Recorder


def failing(times: int, *, retryable: bool = True) -> list[BaseException]:
    return [
        LLMError("Claude is overloaded (529).", kind="overloaded", retryable=retryable)
        for _ in range(times)
    ]


async def test_independent_subtasks_overlap(config: PipelineConfig) -> None:
    llm = ScriptedLLM(plan=simple_plan("g", 4), latency={"subagent": 0.2})
    started = time.monotonic()
    result = await run_pipeline("goal", llm=llm, config=config)
    assert result.status == "succeeded"
    assert time.monotonic() - started < 0.4  # 4 x 0.2 s in parallel, not 0.8 s
    assert llm.max_in_flight == 4


async def test_concurrency_cap_is_respected(config: PipelineConfig) -> None:
    capped = config.model_copy(update={"concurrency": 2})
    llm = ScriptedLLM(plan=simple_plan("g", 5), latency={"subagent": 0.05})
    result = await run_pipeline("goal", llm=llm, config=capped)
    assert result.done_count == 5
    assert llm.max_in_flight == 2


async def test_dependent_runs_after_with_only_its_dependencies_outputs(
    config: PipelineConfig, recorder: Recorder
) -> None:
    plan = simple_plan("g", 3)
    plan["subtasks"][2]["depends_on"] = ["s1"]
    llm = ScriptedLLM(plan=plan, outputs={"s1": "ONE", "s2": "TWO", "s3": "THREE"})
    result = await run_pipeline("goal", llm=llm, config=config, sink=recorder)
    assert result.status == "succeeded"
    s3 = next(r for r in llm.requests if r.label == "s3")
    assert "ONE" in s3.messages[0].content
    assert "TWO" not in s3.messages[0].content
    order = [e.subtask_id for e in recorder.of(SubtaskStarted) if isinstance(e, SubtaskStarted)]
    assert order.index("s3") > order.index("s1")


async def test_dependent_does_not_wait_for_unrelated_slow_work(config: PipelineConfig) -> None:
    # s3 needs only s1; s2 is slow. s3 must start as soon as s1 is done (no waves).
    plan = simple_plan("g", 3)
    plan["subtasks"][2]["depends_on"] = ["s1"]
    llm = ScriptedLLM(plan=plan, latency={"s1": 0.05, "s2": 0.4, "s3": 0.05})
    started = time.monotonic()
    recorder_times: dict[str, float] = {}

    async def sink(event: object) -> None:
        if isinstance(event, SubtaskStarted):
            recorder_times[event.subtask_id] = time.monotonic() - started

    await run_pipeline("goal", llm=llm, config=config, sink=sink)
    assert recorder_times["s3"] < 0.3


async def test_failed_subtask_skips_its_dependents_and_others_go_on(
    config: PipelineConfig, recorder: Recorder
) -> None:
    plan = simple_plan("g", 3)
    plan["subtasks"][2]["depends_on"] = ["s1"]
    llm = ScriptedLLM(plan=plan, failures={"s1": failing(10)})
    result = await run_pipeline("goal", llm=llm, config=config, sink=recorder)
    assert result.status == "partial"
    assert result.outcomes["s1"].status == "failed"
    assert result.outcomes["s2"].status == "done"
    assert result.outcomes["s3"].status == "skipped"
    skipped = recorder.of(SubtaskSkipped)[0]
    assert isinstance(skipped, SubtaskSkipped)
    assert skipped.failed_dependencies == ("s1",)
    integrator = llm.requests_for("integrator")[0].messages[0].content
    assert "These parts failed" in integrator
    assert "Researcher of aspect 1" in integrator


async def test_json_output_is_validated_and_reasked_once(config: PipelineConfig) -> None:
    plan = simple_plan("g", 2)
    plan["subtasks"][0]["output_format"] = "json"
    replies = iter(["not json at all", '```json\n{"a": 1}\n```'])

    def respond(request: LLMRequest) -> str:
        if request.role == "orchestrator":
            return json.dumps(plan)
        if request.label == "s1":
            return next(replies)
        return "fine"

    llm = FunctionLLM(respond)
    result = await run_pipeline("goal", llm=llm, config=config)
    assert result.outcomes["s1"].output == '{"a": 1}'
    second = [r for r in llm.requests if r.label == "s1"][1]
    assert "not valid JSON" in second.messages[-1].content


async def test_empty_output_twice_fails_the_subtask(config: PipelineConfig) -> None:
    llm = ScriptedLLM(plan=simple_plan("g", 2), outputs={"s1": "   "})
    result = await run_pipeline("goal", llm=llm, config=config)
    assert result.outcomes["s1"].status == "failed"
    assert "empty" in result.outcomes["s1"].error
    assert result.status == "partial"


async def test_cancellation_stops_in_flight_calls(
    config: PipelineConfig, recorder: Recorder
) -> None:
    llm = ScriptedLLM(plan=simple_plan("g", 3), latency={"subagent": 30})
    task = asyncio.create_task(run_pipeline("goal", llm=llm, config=config, sink=recorder))
    await recorder.wait_for(SubtaskStarted, 3)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert llm.in_flight == 0
    last = recorder.events[-1]
    assert isinstance(last, RunCancelled)
    assert {o.status for o in last.result.outcomes.values()} == {"cancelled"}
