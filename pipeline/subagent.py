"""One subtask: call its subagent, validate the output format, re-ask once if needed."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pipeline import prompts
from pipeline.context import RunContext
from pipeline.errors import InvalidOutput
from pipeline.llm import LLMRequest, Message, Usage
from pipeline.models import OutputFormat, SubTask

_FENCE = re.compile(r"^```[a-zA-Z]*\n(.*)\n```$", re.DOTALL)


def check_output(text: str, output_format: OutputFormat) -> tuple[str, str | None]:
    """The cleaned output and the problem with it (None when usable)."""
    cleaned = text.strip()
    if not cleaned:
        return cleaned, "it was empty."
    if output_format == "json":
        # Models often fence JSON despite being told not to; the fence carries no meaning.
        fenced = _FENCE.match(cleaned)
        if fenced:
            cleaned = fenced.group(1).strip()
        try:
            json.loads(cleaned)
        except json.JSONDecodeError as exc:
            return cleaned, f"it was not valid JSON ({exc.msg} at line {exc.lineno})."
    return cleaned, None


async def run_subagent(
    ctx: RunContext, task: SubTask, dependencies: Sequence[tuple[SubTask, str]]
) -> tuple[str, Usage, int]:
    """The subtask's validated output, its usage and the number of calls it took."""
    turns: tuple[Message, ...] = (Message("user", prompts.subagent_user(task, dependencies)),)

    def request(messages: tuple[Message, ...]) -> LLMRequest:
        return LLMRequest(
            role="subagent",
            model=ctx.config.subagent_model,
            system=prompts.subagent_system(task),
            messages=messages,
            max_tokens=ctx.config.subagent_max_tokens,
            label=task.id,
        )

    reply = await ctx.call(request(turns), subtask_id=task.id)
    output, problem = check_output(reply.text, task.output_format)
    if problem is None:
        return output, reply.usage, 1
    turns = (
        *turns,
        Message("assistant", reply.text or "(empty)"),
        Message("user", prompts.output_repair(problem, task.output_format)),
    )
    second = await ctx.call(request(turns), subtask_id=task.id)
    output, problem = check_output(second.text, task.output_format)
    if problem is not None:
        raise InvalidOutput(f"Output unusable twice: {problem}")
    return output, reply.usage + second.usage, 2
