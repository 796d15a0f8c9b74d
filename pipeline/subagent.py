"""One subtask: call its subagent, validate the output format, re-ask once if needed."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline import prompts, words
from pipeline.config import PipelineConfig
from pipeline.context import RunContext, why_cut
from pipeline.errors import InvalidOutput, Refused
from pipeline.llm import LLMReply, LLMRequest, Message, Source, Usage, WebTools
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


@dataclass(frozen=True, slots=True)
class SubagentResult:
    """A subtask's validated output, what its calls cost and what they looked up; `cut`
    says why the output is not whole ("" when it is)."""

    output: str
    usage: Usage
    calls: int
    sources: tuple[Source, ...] = ()
    searches: int = 0
    search_errors: tuple[str, ...] = ()
    cut: str = ""


def _result(output: str, replies: Sequence[LLMReply], max_tokens: int) -> SubagentResult:
    why = why_cut(replies[-1], max_tokens)
    sources: dict[str, Source] = {}  # by URL, in order of first citation
    for reply in replies:
        for source in reply.sources:
            sources.setdefault(source.url, source)
    return SubagentResult(
        output,
        sum((reply.usage for reply in replies), Usage()),
        len(replies),
        sources=tuple(sources.values()),
        searches=sum(reply.searches for reply in replies),
        search_errors=tuple(e for reply in replies for e in reply.search_errors),
        cut=words.output_cut(why) if why else "",
    )


def web_tools_for(task: SubTask, config: PipelineConfig) -> WebTools | None:
    """The web tools a subtask's calls get: only when the plan says it needs the web and the
    configuration allows web search."""
    if not (task.needs_web and config.web_search):
        return None
    return WebTools(
        max_uses=config.web_search_max_uses,
        allowed_domains=config.web_allowed_domains,
        blocked_domains=config.web_blocked_domains,
        max_content_tokens=config.web_fetch_max_content_tokens,
        fetch=config.web_fetch,
    )


async def run_subagent(
    ctx: RunContext, task: SubTask, dependencies: Sequence[tuple[SubTask, str]]
) -> SubagentResult:
    """The subtask's validated output, its usage, calls and what it looked up on the web.

    Raises:
        Refused: Claude declined the subtask.
        InvalidOutput: nothing usable came back, even after a re-ask (or, when a budget
            stopped its web research, at once: a re-ask would not fit either).
    """
    max_tokens = ctx.config.subagent_max_tokens
    # The steers given so far: a steer that comes later reaches the subtasks that start later.
    steers = await ctx.steers()
    turns: tuple[Message, ...] = (
        Message("user", prompts.subagent_user(task, dependencies, steers, ctx.instructions)),
    )

    def request(messages: tuple[Message, ...], web: WebTools | None) -> LLMRequest:
        return LLMRequest(
            role="subagent",
            model=ctx.config.subagent_model,
            system=prompts.subagent_system(task),
            messages=messages,
            max_tokens=max_tokens,
            web=web,
            label=task.id,
        )

    reply = await ctx.call(request(turns, web_tools_for(task, ctx.config)), subtask_id=task.id)
    if reply.stop_reason == "refusal":
        raise Refused(words.REFUSED_SUBTASK)
    output, problem = check_output(reply.text, task.output_format)
    if problem is None:
        return _result(output, [reply], max_tokens)
    if reply.stopped:
        raise InvalidOutput(words.nothing_usable(problem, why_cut(reply, max_tokens)))
    turns = (
        *turns,
        Message("assistant", reply.text or "(empty)"),
        Message("user", prompts.output_repair(problem, task.output_format)),
    )
    # The re-ask fixes the form of what was found: no new searches (their sources stay).
    second = await ctx.call(request(turns, None), subtask_id=task.id)
    if second.stop_reason == "refusal":
        raise Refused(words.REFUSED_SUBTASK)
    output, problem = check_output(second.text, task.output_format)
    if problem is not None:
        raise InvalidOutput(f"Output unusable twice: {problem}")
    return _result(output, [reply, second], max_tokens)
