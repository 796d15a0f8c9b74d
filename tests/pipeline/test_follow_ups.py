"""Suggested follow-up questions (issue 23.3): asked after the answer from the subagent model
with structured output, counted in the run's usage, never failing the run."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from pipeline import PipelineConfig, run_pipeline
from pipeline.errors import LLMError
from pipeline.follow_ups import LABEL, QUESTION_CHARS, SCHEMA, parse_questions
from pipeline.testing import ScriptedLLM


def config(follow_ups: int = 3) -> PipelineConfig:
    return PipelineConfig(retry_initial_wait_s=0, retry_max_wait_s=0, follow_ups=follow_ups)


async def test_the_run_ends_with_follow_ups_from_the_subagent_model_and_counts_them() -> None:
    llm = ScriptedLLM(follow_ups=("Why?", "why?", "  What   else? ", "How?", "When?"))
    result = await run_pipeline("goal", llm=llm, config=config(3))
    assert result.status == "succeeded"
    assert result.follow_ups == ("Why?", "What else?", "How?")  # cleaned, once each, 3 at most
    [asked] = [r for r in llm.requests if r.label == LABEL]
    assert asked.model == config().subagent_model
    assert asked.json_schema == SCHEMA
    assert "Integrated answer." in asked.messages[0].content
    # Counted with the subagents' usage: the run's total includes the call.
    counted = sum(reply.usage.output_tokens for _, reply in llm.replies)
    assert result.usage.output_tokens == counted


async def test_no_follow_ups_when_off_or_when_the_call_fails() -> None:
    off = ScriptedLLM()
    result = await run_pipeline("goal", llm=off, config=config(0))
    assert result.follow_ups == ()
    assert not [r for r in off.requests if r.label == LABEL]

    failing = ScriptedLLM(failures={LABEL: [LLMError("down", kind="bad_request", retryable=False)]})
    result = await run_pipeline("goal", llm=failing, config=config(3))
    assert result.status == "succeeded"  # the answer stands without them
    assert result.follow_ups == ()
    assert result.answer == "Integrated answer."


@given(st.text(max_size=2000), st.integers(min_value=0, max_value=3))
def test_any_reply_gives_at_most_the_limit_of_short_one_line_questions(
    reply: str, limit: int
) -> None:
    for text in (reply, json.dumps({"follow_up_questions": [reply, reply + "?", 3]})):
        questions = parse_questions(text, limit)
        assert len(questions) <= limit
        for question in questions:
            assert question.strip()
            assert "\n" not in question
            assert len(question) <= QUESTION_CHARS
