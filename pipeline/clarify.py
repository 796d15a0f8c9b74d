"""The clarifying question (issue 22.3): when a goal is too vague to plan well, the
orchestrator may answer with one question instead of a plan (structured output: the plan's
schema with a `question` field, `planner.plan_schema(may_ask=True)`); the run's `Clarify`
asks the person and hands back their answer, and planning goes on with the goal and that
answer (delimited and escaped: it is untrusted like the goal). One question per run: the
second plan request no longer offers the field.

The wait for an answer is not working time (the deadline does not run), as for a plan
review."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.errors import PipelineError

QUESTION_MAX_CHARS = 500  # the schema's maxLength: a question, not an essay


@dataclass(frozen=True, slots=True)
class Question:
    """The orchestrator's question instead of a plan."""

    text: str


@dataclass(frozen=True, slots=True)
class Clarification:
    """A question asked and the person's answer to it."""

    question: str
    answer: str


class Clarify(Protocol):
    """Asks a person the orchestrator's question and waits for the answer."""

    async def earlier(self) -> Clarification | None:
        """A question this run asked before (an earlier attempt, before a restart): its
        answer, waited for if it is still open; None if none was asked."""
        ...

    async def ask(self, question: str) -> str:
        """Ask `question` and wait for the answer; raises `QuestionUnanswered` when nobody
        answers in time."""
        ...


class QuestionUnanswered(PipelineError):
    """The clarifying question was not answered in time: nothing was run."""
