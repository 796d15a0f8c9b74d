"""A finished run in a few words: the footer every display (Slack, the terminal) shows."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.models import RunResult
from pipeline.words import CUT_AT_DEADLINE


def searches_text(searches: int, cost_usd: float | None = None) -> str:
    """ "3 web searches ($0.0300)"; the cost left out when unknown."""
    words = f"{searches} web search{'' if searches == 1 else 'es'}"
    return words if cost_usd is None else f"{words} (${cost_usd:.4f})"


def footer_parts(result: RunResult) -> list[str]:
    """Wall time, subtasks done, tokens, web searches (when any) and their cost, total cost."""
    parts = [
        f"{result.elapsed_s:.1f}s",
        f"{result.done_count}/{len(result.outcomes)} subtasks done",
        f"{result.usage.total_input:,} tokens in / {result.usage.output_tokens:,} out",
    ]
    if result.usage.web_search_requests:
        parts.append(searches_text(result.usage.web_search_requests, result.search_cost_usd))
    parts.append("cost unknown" if result.cost_usd is None else f"≈ ${result.cost_usd:.4f}")
    return parts


def not_included(result: RunResult, role: Callable[[str], str] = str) -> str:
    """Which subtasks the answer lacks, by role and why (its status, or cut at the deadline):
    "Not included: A (failed); B (skipped)", or "" when it lacks none. Every surface says it
    in these words (Slack's answer, the report, the terminal); `role` renders a role there."""
    if result.plan is None or not result.failed_subtasks:
        return ""
    tasks = result.plan.by_id()
    names = [
        f"{role(tasks[i].role)} ({_missing(result, i)})"
        for i in result.failed_subtasks
        if i in tasks
    ]
    return "Not included: " + "; ".join(names) if names else ""


def _missing(result: RunResult, subtask_id: str) -> str:
    return CUT_AT_DEADLINE if subtask_id in result.cut else result.outcomes[subtask_id].status


# Why a search or a fetch failed, in words (the API's error codes; fetch codes are prefixed).
_SEARCH_ERRORS = {
    "unavailable": "search unavailable",
    "too_many_requests": "search rate-limited",
    "max_uses_exceeded": "search limit reached",
    "query_too_long": "search query too long",
    "invalid_tool_input": "search query refused",
}


def _error_words(code: str) -> str:
    if code.startswith("fetch:"):
        return "a page could not be read"
    return _SEARCH_ERRORS.get(code, "search failed")


def web_note(searches: int, sources: int, errors: tuple[str, ...]) -> str:
    """ "3 searches · 5 sources", and what went wrong with the web ("" when it was not used).

    A subtask whose searches all failed still answers, from the model's memory: say so."""
    if not (searches or sources or errors):
        return ""
    parts = []
    if searches:
        parts.append(f"{searches} search{'' if searches == 1 else 'es'}")
    parts.append(f"{sources} source{'' if sources == 1 else 's'}")
    problems = list(dict.fromkeys(_error_words(code) for code in errors))
    if problems:
        fallback = ", answered from memory" if not sources else ""
        parts.append("; ".join(problems) + fallback)
    return " · ".join(parts)
