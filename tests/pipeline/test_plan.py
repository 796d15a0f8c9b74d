"""Plan validation and the orchestrator's single repair."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline import LLMRequest, PipelineConfig, RunFailed, run_pipeline
from pipeline.models import find_cycle
from pipeline.planner import parse_plan, plan_schema
from pipeline.testing import FunctionLLM, simple_plan
from tests.pipeline.conftest import Recorder


def plan_with(*deps: list[str]) -> dict[str, Any]:
    plan = simple_plan("compare databases", len(deps))
    for task, depends_on in zip(plan["subtasks"], deps, strict=True):
        task["depends_on"] = depends_on
    return plan


def test_valid_plan_parses(config: PipelineConfig) -> None:
    plan = parse_plan(json.dumps(plan_with([], ["s1"])), config)
    assert [t.id for t in plan.subtasks] == ["s1", "s2"]
    assert plan.subtasks[1].depends_on == ["s1"]


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        (plan_with([]), "a plan needs 2 to 5 subtasks, got 1"),
        (plan_with(*[[]] * 6), "a plan needs 2 to 5 subtasks, got 6"),
        (plan_with([], ["s9"]), "subtask s2 depends on unknown ids: s9"),
        (plan_with(["s2"], ["s1"]), "dependencies form a cycle: s1 -> s2 -> s1"),
        (plan_with(["s1"], []), "subtask s1 depends on itself"),
    ],
)
def test_invalid_plans_say_why(plan: dict[str, Any], reason: str, config: PipelineConfig) -> None:
    with pytest.raises(ValueError, match=reason.replace("->", "\\->")):
        parse_plan(json.dumps(plan), config)


def test_duplicate_ids_are_rejected(config: PipelineConfig) -> None:
    plan = plan_with([], [])
    plan["subtasks"][1]["id"] = "s1"
    with pytest.raises(ValueError, match="unique; repeated: s1"):
        parse_plan(json.dumps(plan), config)


def test_prose_instead_of_json_is_rejected(config: PipelineConfig) -> None:
    with pytest.raises(ValueError, match="Invalid JSON"):
        parse_plan("Here is the plan: first...", config)


def test_find_cycle_on_longer_loop() -> None:
    assert find_cycle({"a": ("b",), "b": ("c",), "c": ("a",)}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ("b",), "b": (), "c": ("a", "b")}) is None


def test_schema_has_no_validation_only_details() -> None:
    schema = plan_schema()
    assert schema["required"] == ["goal", "subtasks"]
    assert "SubTask" in schema["$defs"]


async def test_invalid_plan_is_repaired_once_quoting_the_error(
    config: PipelineConfig, recorder: Recorder
) -> None:
    replies = iter([json.dumps(plan_with([], ["s7"])), json.dumps(plan_with([], ["s1"]))])

    def respond(request: LLMRequest) -> str:
        if request.role == "orchestrator":
            return next(replies)
        return "ok"

    llm = FunctionLLM(respond)
    result = await run_pipeline("compare databases", llm=llm, config=config, sink=recorder)
    assert result.status == "succeeded"
    plans = llm.requests_for("orchestrator")
    assert len(plans) == 2
    repair = plans[1].messages[-1].content
    assert "subtask s2 depends on unknown ids: s7" in repair
    assert plans[1].json_schema is not None


async def test_plan_invalid_twice_fails_clearly(config: PipelineConfig, recorder: Recorder) -> None:
    llm = FunctionLLM(lambda r: json.dumps(plan_with([])) if r.role == "orchestrator" else "x")
    result = await run_pipeline("compare databases", llm=llm, config=config, sink=recorder)
    assert result.status == "failed"
    assert result.error_kind == "PlanError"
    assert "could not produce a usable plan" in result.error
    assert "got 1" in result.error
    assert len(llm.requests_for("orchestrator")) == 2
    assert llm.requests_for("subagent") == []
    assert isinstance(recorder.events[-1], RunFailed)
