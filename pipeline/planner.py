"""The orchestrator step: goal -> validated Plan, with exactly one repair attempt; or, when
the run may ask (`may_ask`), one clarifying question instead (`pipeline.clarify`)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from pipeline import prompts, words
from pipeline.clarify import QUESTION_MAX_CHARS, Clarification, Question
from pipeline.config import PipelineConfig
from pipeline.context import RunContext
from pipeline.errors import PlanError
from pipeline.llm import LLMRequest, Message
from pipeline.models import Plan

QUESTION_FIELD = "question"


@functools.cache
def _schema(may_ask: bool) -> Mapping[str, Any]:
    # Building it costs ~0.3 ms, a few % of a run's CPU (bench/PROFILE_NOTES.md); it never
    # changes, and read-only so a shared copy cannot be altered by one caller for the next.
    schema = Plan.model_json_schema()
    if may_ask:
        # Optional, so a plan needs no change: a question comes with no subtasks.
        schema["properties"] = {
            **schema["properties"],
            QUESTION_FIELD: {
                "type": "string",
                "maxLength": QUESTION_MAX_CHARS,
                "description": "only when the goal is too vague to plan: one short question"
                " for the person, with subtasks left empty",
            },
        }
    return MappingProxyType(schema)


def plan_schema(may_ask: bool = False) -> Mapping[str, Any]:
    """The JSON schema sent as the orchestrator's structured-output format (`may_ask`: with
    the optional clarifying question)."""
    return _schema(may_ask)


def asked_question(text: str) -> Question | None:
    """The orchestrator's clarifying question, when its reply is one (a non-empty
    `question`; any subtasks beside it are ignored: it says it cannot plan yet)."""
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    question = found.get(QUESTION_FIELD)
    if not isinstance(question, str) or not question.strip():
        return None
    return Question(" ".join(question.split())[:QUESTION_MAX_CHARS])


def parse_plan(text: str, config: PipelineConfig) -> Plan:
    """Validate the orchestrator's JSON; raises ValueError with a readable reason."""
    if not text.strip():
        raise ValueError("the reply was empty")
    try:
        return Plan.model_validate_json(
            text, context={"min": config.min_subtasks, "max": config.max_subtasks}
        )
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """A short, model-readable summary of what failed validation."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False)[:6]:
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


async def make_plan(
    ctx: RunContext,
    goal: str,
    context: str | None,
    *,
    may_ask: bool = False,
    clarified: Clarification | None = None,
) -> Plan | Question:
    """Ask the orchestrator for a plan; repair once quoting the error; then PlanError.

    With `may_ask` the orchestrator may answer with one clarifying question instead (only
    on its first reply); `clarified`: a question asked before and its answer, for the plan."""
    config = ctx.config
    user = prompts.orchestrator_user(goal, context, clarified, ctx.instructions)
    messages: tuple[Message, ...] = (Message("user", user),)

    def request(turns: tuple[Message, ...], ask: bool) -> LLMRequest:
        return LLMRequest(
            role="orchestrator",
            model=config.orchestrator_model,
            system=prompts.orchestrator_system(config.min_subtasks, config.max_subtasks, ask),
            messages=turns,
            max_tokens=config.plan_max_tokens,
            json_schema=plan_schema(ask),
            label="plan",
        )

    reply = await ctx.call(request(messages, may_ask))
    if reply.stop_reason == "refusal":
        raise PlanError(words.REFUSED_PLAN)
    question = asked_question(reply.text) if may_ask else None
    if question is not None:
        return question
    try:
        return parse_plan(reply.text, config)
    except ValueError as first:
        messages = (
            *messages,
            Message("assistant", reply.text or "(empty)"),
            Message("user", prompts.plan_repair(str(first))),
        )
    # The repair offers no question: the reply was meant as a plan.
    repaired = await ctx.call(request(messages, False))
    if repaired.stop_reason == "refusal":
        raise PlanError(words.REFUSED_PLAN)
    try:
        return parse_plan(repaired.text, config)
    except ValueError as second:
        raise PlanError(
            f"Claude could not produce a usable plan, even after a repair: {second}"
        ) from None
