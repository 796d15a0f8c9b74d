"""How a reply ended counts: a cut answer says so, a refusal fails its step with its reason."""

from __future__ import annotations

import json

import pytest

from pipeline import (
    LLMReply,
    LLMRequest,
    PipelineConfig,
    SubtaskFailed,
    SubtaskFinished,
    run_pipeline,
)
from pipeline.testing import FunctionLLM, estimate_usage, simple_plan
from pipeline.view import RunView
from pipeline.words import REFUSED_ANSWER, REFUSED_PLAN, REFUSED_SUBTASK
from tests.pipeline.conftest import Recorder


def ending(text: str, stop_reason: str, request: LLMRequest) -> LLMReply:
    return LLMReply(text, estimate_usage(request, text), request.model, stop_reason)


def scripted(stops: dict[str, str]) -> FunctionLLM:
    """Plan of three, subtask outputs and an answer; `stops` maps a label (a subtask id,
    "plan", "integrate") to the stop reason its replies end with."""

    def respond(request: LLMRequest) -> LLMReply:
        stop = stops.get(request.label, "end_turn")
        match request.role:
            case "orchestrator":
                return ending(json.dumps(simple_plan("goal", 3)), stop, request)
            case "subagent":
                return ending(f"Output of {request.label}.", stop, request)
            case "integrator":
                return ending("The answer, as far as it got", stop, request)

    return FunctionLLM(respond)


@pytest.mark.parametrize(
    ("stop", "why"),
    [
        ("max_tokens", "it reached its length limit of 4,096 tokens"),
        ("model_context_window_exceeded", "it filled the model's context window"),
    ],
)
async def test_an_answer_cut_short_says_so(config: PipelineConfig, stop: str, why: str) -> None:
    result = await run_pipeline("goal", llm=scripted({"integrate": stop}), config=config)
    assert result.status == "succeeded"
    assert result.answer == "The answer, as far as it got"
    assert result.answer_cut == f"This answer was cut short: {why}, so it may end mid-way."


async def test_a_whole_answer_has_no_cut_note(config: PipelineConfig) -> None:
    result = await run_pipeline("goal", llm=scripted({}), config=config)
    assert result.answer_cut == ""
    assert all(outcome.cut == "" for outcome in result.outcomes.values())


async def test_a_subagent_refusal_is_a_failed_subtask_with_its_reason(
    config: PipelineConfig, recorder: Recorder
) -> None:
    llm = scripted({"s2": "refusal"})
    result = await run_pipeline("goal", llm=llm, config=config, sink=recorder)
    assert result.status == "partial"
    s2 = result.outcomes["s2"]
    assert (s2.status, s2.error) == ("failed", REFUSED_SUBTASK)
    (failed,) = recorder.of(SubtaskFailed)
    assert isinstance(failed, SubtaskFailed)
    assert failed.reason == REFUSED_SUBTASK
    assert len(llm.requests_for("subagent")) == 3  # a refusal is not re-asked
    integrating = llm.requests_for("integrator")[0].messages[0].content
    assert "Output of s2." not in integrating
    assert REFUSED_SUBTASK in integrating  # named among the parts that failed


async def test_a_refused_plan_or_answer_fails_the_run_saying_why(config: PipelineConfig) -> None:
    planned = await run_pipeline("goal", llm=scripted({"plan": "refusal"}), config=config)
    assert (planned.status, planned.error) == ("failed", REFUSED_PLAN)
    answered = await run_pipeline("goal", llm=scripted({"integrate": "refusal"}), config=config)
    assert (answered.status, answered.error, answered.answer) == ("failed", REFUSED_ANSWER, "")


async def test_a_subtask_cut_at_its_length_limit_says_so_where_it_is_shown(
    config: PipelineConfig, recorder: Recorder
) -> None:
    llm = scripted({"s1": "max_tokens"})
    result = await run_pipeline("goal", llm=llm, config=config, sink=recorder)
    cut = "cut short: it reached its length limit of 2,048 tokens"
    assert result.status == "succeeded"
    assert result.outcomes["s1"].cut == cut
    finished = {e.subtask_id: e for e in recorder.events if isinstance(e, SubtaskFinished)}
    assert finished["s1"].cut == cut
    view = RunView(result.run_id)
    for event in recorder.events:
        view.apply(event)
    assert view.subtasks["s1"].web == cut
    assert view.subtasks["s2"].web == ""
    # The integrator is told the finding is not whole.
    assert f"Output of s1.\n({cut})" in llm.requests_for("integrator")[0].messages[0].content
