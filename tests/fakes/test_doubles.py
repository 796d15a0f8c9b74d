"""The shipped doubles: each is an `LLM` itself, and one builder makes every fake plan."""

from __future__ import annotations

import pytest

from pipeline.llm import LLM, LLMReply, LLMRequest, Message, Usage
from pipeline.models import Plan
from pipeline.testing import Aspect, FunctionLLM, ScriptedLLM, simple_plan
from sandbox.fakes.demo import demo_plan


def request(role: str = "integrator", label: str = "integrate") -> LLMRequest:
    return LLMRequest(
        role=role,  # type: ignore[arg-type]  # tests pass the Role literals as plain str
        model="claude-haiku-4-5",
        system="Say something.",
        messages=(Message("user", "the goal"),),
        max_tokens=100,
        label=label,
    )


async def test_scripted_llm_is_an_llm_itself_and_records_its_own_calls() -> None:
    scripted = ScriptedLLM(answer="A streamed answer, long enough for chunks.", chunk_chars=8)
    llm: LLM = scripted  # mypy checks the protocol: nothing is wrapped inside
    deltas: list[str] = []

    async def on_text(delta: str) -> None:
        deltas.append(delta)

    reply = await llm.complete(request(), on_text)
    assert not hasattr(scripted, "llm")
    assert reply.text == "".join(deltas) == "A streamed answer, long enough for chunks."
    assert len(deltas) == 6
    assert scripted.requests == [request()]
    assert scripted.replies == [(request(), reply)]
    assert scripted.requests_for("integrator") == [request()]
    assert (scripted.in_flight, scripted.max_in_flight) == (0, 1)


async def test_scripted_llm_records_a_failed_call_and_raises_its_failure() -> None:
    scripted = ScriptedLLM(failures={"s1": [TimeoutError("slow")]})
    with pytest.raises(TimeoutError):
        await scripted.complete(request("subagent", "s1"))
    assert scripted.requests_for("subagent") == [request("subagent", "s1")]
    assert (scripted.replies, scripted.in_flight) == ([], 0)
    assert (await scripted.complete(request("subagent", "s1"))).text == "Result of s1."


async def test_function_llm_answers_with_its_function() -> None:
    fixed = LLMReply("fixed", Usage(1, 1), "claude-haiku-4-5")
    function = FunctionLLM(lambda r: fixed if r.role == "subagent" else "text")
    llm: LLM = function
    assert await llm.complete(request("subagent")) is fixed
    assert (await llm.complete(request())).text == "text"
    assert [r.role for r in function.requests] == ["subagent", "integrator"]


def test_simple_plan_takes_aspects_dependencies_and_web_needs() -> None:
    aspects = [
        Aspect("Reader", "Read it.", "You read the sources."),
        Aspect("Editor", "Edit.", "You edit the draft."),
    ]
    plan = Plan.model_validate(simple_plan("a goal", aspects, depends={"s2": ["s1"]}))
    assert [(t.id, t.role, t.input, t.depends_on) for t in plan.subtasks] == [
        ("s1", "Reader", "Read it.", []),
        ("s2", "Editor", "Edit.", ["s1"]),
    ]
    numbered = simple_plan("g", 4, needs_web={"s2"})
    assert numbered["goal"] == "Research g"  # padded: a plan's goal has 3 characters or more
    assert [t.get("needs_web", False) for t in numbered["subtasks"]] == [False, True, False, False]
    assert "aspect 2" in numbered["subtasks"][1]["system_prompt"]


def test_the_demo_plan_is_built_by_the_one_builder() -> None:
    plan = demo_plan("compare Postgres and MySQL")
    assert set(plan) == set(simple_plan("g"))
    # The builder's own shapes: two analysts that ask for the web, an editor that does not.
    web, offline = simple_plan("g", 2, needs_web={"s1"})["subtasks"]
    assert [set(t) for t in plan["subtasks"]] == [set(web), set(web), set(offline)]
    assert Plan.model_validate(plan).subtasks[-1].depends_on == ["s1", "s2"]
