"""Suggested follow-up questions (issue 23.3): after the answer, one short structured-output
call to the subagent model asks for up to `config.follow_ups` questions a reader may ask next.

The call goes through the run's context like every other (its budget hold, retries, usage and
cost are the run's, so the footer and the ledger count it); any failure leaves no suggestions
and never fails the run: the answer is whole without them."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pipeline import prompts
from pipeline.context import RunContext
from pipeline.errors import PipelineError
from pipeline.llm import LLMRequest, Message

logger = logging.getLogger(__name__)

LABEL = "follow_ups"  # the request's label: logs, fakes and the scripted LLMs know it
QUESTION_CHARS = 300  # a question longer is no quick follow-up (and would not fit a button)
ANSWER_CHARS = 20_000  # of the answer the call reads: its gist, not all of a long report
MAX_TOKENS = 400
# Its own property name: the fakes know a follow-ups request by it (the plan schema's is
# "subtasks").
SCHEMA: Mapping[str, Any] = MappingProxyType(
    {
        "type": "object",
        "properties": {
            "follow_up_questions": {
                "type": "array",
                "items": {"type": "string"},
            }
        },
        "required": ["follow_up_questions"],
        "additionalProperties": False,
    }
)


def parse_questions(text: str, limit: int) -> tuple[str, ...]:
    """Up to `limit` questions from the reply: each on one line, cut to QUESTION_CHARS, no
    empty one, none twice; () for a reply that is not the schema's JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return ()
    items = data.get("follow_up_questions") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return ()
    questions: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        question = " ".join(item.split())[:QUESTION_CHARS].strip()
        if question and question.casefold() not in {q.casefold() for q in questions}:
            questions.append(question)
    return tuple(questions[:limit])


async def suggest_follow_ups(ctx: RunContext, goal: str, answer: str) -> tuple[str, ...]:
    """Up to `ctx.config.follow_ups` questions about `answer`; () when off or on any failure."""
    limit = ctx.config.follow_ups
    if limit <= 0 or not answer.strip():
        return ()
    request = LLMRequest(
        role="subagent",
        model=ctx.config.subagent_model,
        system=prompts.follow_ups_system(limit, QUESTION_CHARS),
        messages=(Message("user", prompts.follow_ups_user(goal, answer[:ANSWER_CHARS])),),
        max_tokens=MAX_TOKENS,
        json_schema=SCHEMA,
        label=LABEL,
    )
    try:
        reply = await ctx.call(request)
    except PipelineError as exc:
        # No suggestions is a fine end: the answer stands.
        logger.info("no follow-up questions: %s [run_id=%s]", type(exc).__name__, ctx.run_id)
        return ()
    return parse_questions(reply.text, limit)
