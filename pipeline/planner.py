"""The orchestrator step: goal -> validated Plan, with exactly one repair attempt."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from pipeline import prompts, words
from pipeline.config import PipelineConfig
from pipeline.context import RunContext
from pipeline.errors import PlanError
from pipeline.llm import LLMRequest, Message
from pipeline.models import Plan


@functools.cache
def _schema() -> Mapping[str, Any]:
    # Building it costs ~0.3 ms, a few % of a run's CPU (bench/PROFILE_NOTES.md); it never
    # changes, and read-only so a shared copy cannot be altered by one caller for the next.
    return MappingProxyType(Plan.model_json_schema())


def plan_schema() -> Mapping[str, Any]:
    """The JSON schema sent as the orchestrator's structured-output format."""
    return _schema()


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


async def make_plan(ctx: RunContext, goal: str, context: str | None) -> Plan:
    """Ask the orchestrator for a plan; repair once quoting the error; then PlanError."""
    config = ctx.config
    messages: tuple[Message, ...] = (Message("user", prompts.orchestrator_user(goal, context)),)

    def request(turns: tuple[Message, ...]) -> LLMRequest:
        return LLMRequest(
            role="orchestrator",
            model=config.orchestrator_model,
            system=prompts.orchestrator_system(config.min_subtasks, config.max_subtasks),
            messages=turns,
            max_tokens=config.plan_max_tokens,
            json_schema=plan_schema(),
            label="plan",
        )

    reply = await ctx.call(request(messages))
    if reply.stop_reason == "refusal":
        raise PlanError(words.REFUSED_PLAN)
    try:
        return parse_plan(reply.text, config)
    except ValueError as first:
        messages = (
            *messages,
            Message("assistant", reply.text or "(empty)"),
            Message("user", prompts.plan_repair(str(first))),
        )
    repaired = await ctx.call(request(messages))
    if repaired.stop_reason == "refusal":
        raise PlanError(words.REFUSED_PLAN)
    try:
        return parse_plan(repaired.text, config)
    except ValueError as second:
        raise PlanError(
            f"Claude could not produce a usable plan, even after a repair: {second}"
        ) from None
